//! Client for the pairing-aid gRPC service: the generated `pairing.v1` messages and stubs, and a
//! small connection wrapper.

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

pub use pb::pairing::v1;
pub use tonic;
