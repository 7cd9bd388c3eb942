//! pairing-aid: the record of a regional pairing assistance programme, served over gRPC.

pub mod api;
pub mod changes;
pub mod config;
pub mod domain;
pub mod middleware;
pub mod query;
pub mod seed;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod text;
