-- Refresh-token chains: a login starts a chain, each refresh continues it; reusing a spent token
-- revokes the whole chain. Existing tokens each start their own chain.
ALTER TABLE refresh_tokens ADD COLUMN chain_id TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN revoked_at BIGINT;
UPDATE refresh_tokens SET chain_id = id;
CREATE INDEX refresh_tokens_chain_idx ON refresh_tokens (chain_id);

-- Access tokens carry the generation they were issued under; moving it on (logout, a reused
-- refresh token) refuses every access token issued before.
ALTER TABLE sellers ADD COLUMN token_generation BIGINT NOT NULL DEFAULT 0;
