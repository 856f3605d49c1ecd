//! One folder per client wire protocol. Each parses its wire shape, calls `crate::client` (which
//! calls the core), and maps results and `DomainError`s to its own codes in one table. What the
//! signed dialects share (request id, nonce, rate limit, replay defence, the response signature)
//! is [`signed`].

pub mod authly;
pub mod authon;
pub mod blaze;
pub mod signed;
