//! comity-node
