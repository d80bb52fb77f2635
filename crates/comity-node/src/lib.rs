//! A comity node: its directory on disk ([`config`]), the request service ([`service`]) and the HTTP API ([`api`]).
//!
//! This is the only crate that knows JSON on the wire and HTTP. It wires the pure core to the store and the clock.

pub mod access;
pub mod accounts;
pub mod api;
pub mod config;
pub mod database;
pub mod eventlog;
pub mod evidence;
pub mod federation;
pub mod judicial;
pub mod problem;
pub mod records;
pub mod safeguards;
pub mod server;
pub mod service;
pub mod statistics;
pub mod sweeper;
pub mod tls;
pub mod totp;
pub mod ui;
pub mod wire;
