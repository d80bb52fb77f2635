//! comity-store
