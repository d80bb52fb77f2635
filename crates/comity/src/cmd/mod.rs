//! One module per command.

pub mod demo;
pub mod directory;
pub mod evidence;
pub mod init;
pub mod log;
pub mod migrate;
pub mod request;
pub mod rules;
pub mod serve;
pub mod stats;
pub mod user;

use std::path::Path;
use std::sync::Arc;

use comity_node::database::Database;
use comity_node::server::Node;
use comity_node::service::SystemClock;

/// Opens the node in `dir` on `database` if given (`--database`), else on the database its config names.
pub async fn open_node(dir: &Path, database: Option<&str>) -> anyhow::Result<Node> {
    let database = database.map(Database::parse).transpose()?;
    Ok(Node::connect(dir, database.as_ref(), Arc::new(SystemClock)).await?)
}
