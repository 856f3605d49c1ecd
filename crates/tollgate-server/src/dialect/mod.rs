//! One folder per client wire protocol. Each parses its wire shape, calls `crate::client` (which
//! calls the core), and maps results and `DomainError`s to its own codes in one table.

pub mod authly;
