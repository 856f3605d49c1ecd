-- The server's response-signing keys (docs/dialects/signing.md), shared by every node
-- on the database. Kept as a pair with tollgate-postgres/migrations/0003_signing_keys.sql.
--
-- Keys are never deleted: a rotated-out key stays listed. The partial unique index lets at most
-- one key be active; activating a key is one transaction that clears the flag of the one before.

CREATE TABLE signing_keys (
    kid             TEXT    NOT NULL PRIMARY KEY,
    -- Standard base64 of the raw public key.
    public_key      TEXT    NOT NULL,
    -- Standard base64 of the private key as the server encrypted it (nonce || ciphertext).
    private_key_enc TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    active          INTEGER NOT NULL
);
CREATE UNIQUE INDEX signing_keys_one_active_idx ON signing_keys (active) WHERE active;
