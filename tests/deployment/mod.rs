//! What the server's deployment tests share beyond `common` (which pairctl's tests include too):
//! rendered manifests, pods run as a node runs them, and test certificates.

#![allow(dead_code)] // Each test binary uses a different part of this module.

pub mod manifests;
pub mod pki;
pub mod pod;
