//! Password hashing: argon2id at OWASP's minimum (19 MiB, 2 passes, 1 lane) or above.
//!
//! The working memory (19 MiB per computation) is passed in by the caller, so a server can keep
//! one buffer per concurrent computation and reuse it: a burst of logins then allocates nothing.

use argon2::{
    password_hash::{Output, PasswordHash, SaltString},
    Algorithm, Argon2, Block, Params, Version,
};

pub const MEMORY_KIB: u32 = 19 * 1024;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;
pub const MIN_PASSWORD_LEN: usize = 1;
pub const MAX_PASSWORD_LEN: usize = 1024;
/// Stored hashes asking for more memory than this are refused rather than computed: a hash is
/// only ever written by this server, at [`MEMORY_KIB`].
pub const MAX_MEMORY_KIB: u32 = 256 * 1024;

fn params() -> Params {
    // The constants are valid parameters; `Params::new` only fails on out-of-range values.
    Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).unwrap_or_default()
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
}

/// A working-memory buffer big enough for [`hash_with`] and for verifying this server's hashes.
pub fn new_buffer() -> Vec<Block> {
    vec![Block::default(); params().block_count()]
}

/// PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`), computed in `memory` (see [`new_buffer`]).
pub fn hash_with(password: &str, memory: &mut [Block]) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    crate::ids::fill_random(&mut salt);
    let salt_string = SaltString::encode_b64(&salt)?;
    let a = argon2();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    a.hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, memory)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: (&params()).try_into()?,
        salt: Some(salt_string.as_salt()),
        hash: Some(Output::new(&out)?),
    };
    Ok(phc.to_string())
}

/// Verify against a stored PHC string, computing in `memory`; the parameters stored in the hash
/// are the ones used. A hash needing more blocks than `memory` holds (up to [`MAX_MEMORY_KIB`])
/// gets a buffer of its own; anything unparsable is a mismatch. The comparison is constant-time.
pub fn verify_with(password: &str, phc: &str, memory: &mut [Block]) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else { return false };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else { return false };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(p) = Params::try_from(&parsed) else { return false };
    if p.m_cost() > MAX_MEMORY_KIB {
        return false;
    }
    let mut salt_buf = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else { return false };
    let blocks = p.block_count();
    let a = Argon2::new(algorithm, version, p);
    let mut out = [0u8; Output::MAX_LENGTH];
    let out = &mut out[..expected.len()];
    let computed = if blocks <= memory.len() {
        a.hash_password_into_with_memory(password.as_bytes(), salt_bytes, out, &mut memory[..blocks])
    } else {
        a.hash_password_into_with_memory(password.as_bytes(), salt_bytes, out, vec![Block::default(); blocks])
    };
    match (computed, Output::new(out)) {
        // `Output`'s equality is constant-time.
        (Ok(()), Ok(got)) => got == expected,
        _ => false,
    }
}

/// [`hash_with`] in a fresh buffer (command-line tools, tests).
pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    hash_with(password, &mut new_buffer())
}

/// [`verify_with`] in a fresh buffer (command-line tools, tests).
pub fn verify(password: &str, phc: &str) -> bool {
    verify_with(password, phc, &mut new_buffer())
}

/// A hash to verify against when the account does not exist, so that "no such user" and
/// "wrong password" take the same time.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("tollgate-dummy-password").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    #[test]
    fn hash_and_verify() {
        let h = hash("hunter2").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("hunter2", &h));
        assert!(!verify("hunter3", &h));
        assert!(!verify("hunter2", "not a hash"));
        assert_ne!(hash("hunter2").unwrap(), h, "salted");
    }

    #[test]
    fn reused_buffer_agrees_with_the_argon2_crate() {
        let mut mem = new_buffer();
        // Ours verify with the crate's verifier, and the crate's with ours, in one reused buffer.
        let ours = hash_with("correct horse", &mut mem).unwrap();
        assert!(argon2().verify_password(b"correct horse", &PasswordHash::new(&ours).unwrap()).is_ok());
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let theirs = argon2().hash_password(b"battery staple", &salt).unwrap().to_string();
        assert!(verify_with("battery staple", &theirs, &mut mem));
        assert!(!verify_with("battery stapler", &theirs, &mut mem));
        assert!(verify_with("correct horse", &ours, &mut mem));
        // Other parameters (smaller, then larger than the buffer) still verify.
        let small = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(1024, 1, 1, None).unwrap())
            .hash_password(b"x", &salt)
            .unwrap()
            .to_string();
        assert!(verify_with("x", &small, &mut mem));
        assert!(!verify_with("y", &small, &mut mem));
        let big = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(MEMORY_KIB * 2, 1, 1, None).unwrap())
            .hash_password(b"x", &salt)
            .unwrap()
            .to_string();
        assert!(verify_with("x", &big, &mut mem[..8]));
        // Truncated or tampered hashes never verify.
        assert!(!verify_with("correct horse", &ours[..ours.len() - 4], &mut mem));
        assert!(!verify_with("x", "$argon2id$v=19$m=999999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo", &mut mem));
    }
}
