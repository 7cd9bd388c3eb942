#![warn(missing_docs)]

//! Client for the pairing-aid gRPC service.
//!
//! [`Client`] wraps the generated stubs with what every caller needs: bearer token, default
//! deadline, TLS, compression, several endpoints, retries of UNAVAILABLE with backoff,
//! listings as streams, resumable imports and watches, and a typed [`Error`] with the server's
//! field violations. The generated messages and stubs are in [`v1`].
//!
//! ```no_run
//! use futures_util::TryStreamExt;
//! use pairing_aid_client::{Client, v1};
//!
//! # async fn run() -> Result<(), pairing_aid_client::Error> {
//! let client = Client::builder()
//!     .endpoint("http://127.0.0.1:50051")
//!     .token("office-token-0123456789")
//!     .connect()
//!     .await?;
//! let education: Vec<v1::Project> = client
//!     .list_projects(v1::ListProjectsRequest {
//!         filter: r#"field = EDUCATION AND area = "areas/kashgar""#.into(),
//!         ..Default::default()
//!     })
//!     .items()
//!     .try_collect()
//!     .await?;
//! println!("{} education projects in Kashgar", education.len());
//! # Ok(())
//! # }
//! ```

pub mod pb {
    //! Messages and client stubs generated from `proto/`.

    pub mod google {
        //! Google's common types used by `pairing.v1`.
        pub mod r#type {
            //! `google.type.Money` and `google.type.Date`.
            include!(concat!(env!("OUT_DIR"), "/google.r#type.rs"));
        }
    }

    pub mod pairing {
        //! The `pairing` API.
        pub mod v1 {
            //! Version 1 of the API.
            tonic::include_proto!("pairing.v1");
        }
    }
}

/// The encoded `FileDescriptorSet` of `pairing.v1` and the types it uses, for tools that
/// work with the messages by reflection (protobuf JSON, dynamic clients).
///
/// ```
/// use prost::Message;
/// let set = pairing_aid_client::prost_types::FileDescriptorSet::decode(
///     pairing_aid_client::FILE_DESCRIPTOR_SET,
/// )
/// .unwrap();
/// assert!(set.file.iter().any(|f| f.package() == "pairing.v1"));
/// ```
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/pairing_v1_descriptor.bin"));

mod builder;
mod channel;
mod client;
pub mod codec;
mod discovery;
mod error;
mod import;
mod listing;
#[cfg(feature = "otlp")]
pub mod otlp;
mod retry;
mod target;
mod tls_check;
mod watch;
mod write;

pub use builder::{CallSettings, ClientBuilder};
pub use channel::ServerChannel;
pub use client::{Client, Transport};
pub use error::{Error, FieldViolation};
pub use import::{ImportProgress, RejectedRecord};
pub use listing::{ItemStream, Listing};
pub use pb::pairing::v1;
pub use retry::{RetryPolicy, new_request_id};
pub use write::Idempotent;
pub use {prost_types, tonic};
