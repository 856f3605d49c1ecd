-- A key-only session keeps its variables on its license, as an account's session keeps them on
-- its user. Deleted with the license or the app.
CREATE TABLE license_variables (
    app_id     TEXT   NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    license_id TEXT   NOT NULL REFERENCES licenses (id) ON DELETE CASCADE,
    key        TEXT   NOT NULL,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, license_id, key)
);
CREATE INDEX license_variables_license_idx ON license_variables (license_id);
