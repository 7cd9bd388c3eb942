//! The gRPC surface: request decoding, proto <-> domain mapping and errors as `Status`.

mod convert;
mod error;
mod services;

pub use error::ApiError;
pub use services::ReadService;
