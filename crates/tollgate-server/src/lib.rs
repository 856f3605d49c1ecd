//! The Tollgate server: HTTP (and later WebSocket) on top of `tollgate-core` and a `Store`.
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod admin;
pub mod app;
pub mod batch;
pub mod builder;
pub mod cache;
pub mod cli;
pub mod client;
pub mod config;
pub mod conn;
pub mod crypto;
pub mod dialect;
pub mod download;
pub mod error;
pub mod extract;
pub mod files;
pub mod manage;
pub mod metrics;
pub mod netpolicy;
pub mod openapi;
pub mod ops;
pub mod password;
pub mod reseller;
pub mod signing;
pub mod state;
pub mod strict_json;
pub mod web;
pub mod webhooks;
