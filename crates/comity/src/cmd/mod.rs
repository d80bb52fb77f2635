//! One module per command.

pub mod demo;
pub mod init;
pub mod request;
pub mod rules;
pub mod serve;
pub mod user;
