//! One integration-test binary: the real Router on 127.0.0.1:0, a fresh database per test.

mod authly;
mod authly_accounts;
mod authly_data;
mod authly_envelope;
mod authly_init;
mod authly_sdk;
mod authon_client;
mod client_init;
mod file_download;
mod hardening_input;
mod harness;

mod admin_apps;
mod admin_chats;
mod admin_devices;
mod admin_files;
mod admin_licenses;
mod admin_misc;
mod admin_users;
mod auth;
mod auth_hardening;
mod cli;
mod hardening;
mod license_admin;
mod mmdb;
mod multinode;
mod netpolicy;
mod ops;
mod outage;
mod receiver;
mod reseller_api;
mod signing;
mod status_race;
mod tenant_isolation;
mod webhook_delivery;
mod webhook_events;
mod ws;

mod blaze_accounts;
mod blaze_base;
mod blaze_files;
mod blaze_live;
mod blaze_resume;
mod blaze_session;
mod blaze_store;
mod blaze_transport;
