//! What the server's deployment tests share beyond `common` (which pairctl's tests include too):
//! rendered manifests and pods run as a node runs them.

#![allow(dead_code)] // Each test binary uses a different part of this module.

pub mod manifests;
pub mod pod;
