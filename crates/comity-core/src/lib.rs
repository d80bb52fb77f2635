//! comity-core
