//! The methods the server serves, by path, with the labels the gRPC Prometheus conventions
//! give them (service, method, and type: unary or one of the three kinds of stream).
//!
//! The table is read from the descriptor sets of every service the server registers, so a
//! new method, or one that becomes a stream, is labelled right without an edit here.

use std::sync::OnceLock;

use foldhash::HashMap;
use prost::Message as _;

/// How a method's messages flow, as the `grpc_type` label spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Unary,
    ClientStream,
    ServerStream,
    BidiStream,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Unary => "unary",
            Kind::ClientStream => "client_stream",
            Kind::ServerStream => "server_stream",
            Kind::BidiStream => "bidi_stream",
        }
    }

    /// Whether the call's status comes after its messages, in the trailers.
    pub fn streams_responses(self) -> bool {
        matches!(self, Kind::ServerStream | Kind::BidiStream)
    }
}

/// One served method's labels.
#[derive(Debug)]
pub struct Method {
    pub service: &'static str,
    pub name: &'static str,
    pub kind: Kind,
}

/// What calls to paths no service serves are counted as, so that probing random paths cannot
/// grow the metrics without bound.
pub static UNKNOWN: Method = Method {
    service: "unknown",
    name: "unknown",
    kind: Kind::Unary,
};

/// The labels of the method at `path` (`/package.Service/Method`), [`UNKNOWN`]'s if none.
pub fn lookup(path: &str) -> &'static Method {
    static METHODS: OnceLock<HashMap<Box<str>, Method>> = OnceLock::new();
    METHODS
        .get_or_init(served_methods)
        .get(path)
        .unwrap_or(&UNKNOWN)
}

fn served_methods() -> HashMap<Box<str>, Method> {
    let sets = [
        pairing_aid_client::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ];
    let mut methods = HashMap::default();
    for set in sets {
        let set = prost_types::FileDescriptorSet::decode(set).expect("a built-in descriptor set");
        for file in &set.file {
            for service in &file.service {
                // Made once for the process's life, so the labels can be `&'static`.
                let service_name: &'static str =
                    String::leak(format!("{}.{}", file.package(), service.name()));
                for method in &service.method {
                    let kind = match (method.client_streaming(), method.server_streaming()) {
                        (false, false) => Kind::Unary,
                        (true, false) => Kind::ClientStream,
                        (false, true) => Kind::ServerStream,
                        (true, true) => Kind::BidiStream,
                    };
                    methods.insert(
                        format!("/{service_name}/{}", method.name()).into_boxed_str(),
                        Method {
                            service: service_name,
                            name: String::leak(method.name().to_owned()),
                            kind,
                        },
                    );
                }
            }
        }
    }
    methods
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_every_served_method_by_its_kind_and_unknown_paths_alike() {
        let get = lookup("/pairing.v1.ProjectService/GetProject");
        assert_eq!(
            (get.service, get.name, get.kind),
            ("pairing.v1.ProjectService", "GetProject", Kind::Unary)
        );
        assert_eq!(
            lookup("/pairing.v1.RecordService/WatchChanges").kind,
            Kind::ServerStream
        );
        assert_eq!(
            lookup("/grpc.health.v1.Health/Watch").kind,
            Kind::ServerStream
        );
        assert_eq!(
            lookup("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo").kind,
            Kind::BidiStream
        );
        assert!(std::ptr::eq(lookup("/no.Such/Method"), &UNKNOWN));
    }
}
