//! One module per command.

pub mod demo;
pub mod directory;
pub mod init;
pub mod log;
pub mod request;
pub mod rules;
pub mod serve;
pub mod stats;
pub mod user;
