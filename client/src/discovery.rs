//! Client-side balancing that follows DNS: every address a name resolves to is a member of the
//! channel's balancer; the name is resolved again periodically and whenever a connection
//! fails, so a scale-out is picked up and a dead replica leaves the rotation.
//!
//! Like gRPC's `round_robin` policy, which leaves out subchannels in `TRANSIENT_FAILURE`, an
//! address joins the balancer only while a TCP connection to it can be made: a replica that
//! was killed stops receiving calls as soon as its first failure triggers a re-resolution,
//! instead of failing one call in N until DNS forgets it.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::{Resolver, TokioResolver};
use tokio::sync::Notify;
use tokio::sync::mpsc::Sender;
use tonic::transport::channel::Change;
use tonic::transport::{Channel, Endpoint};

use crate::Error;
use crate::target::DnsTarget;

/// Shortest time between two resolutions triggered by failures, so a burst of failed calls
/// costs one lookup.
const FAILURE_SPACING: Duration = Duration::from_millis(100);

/// Resolves `target` once, to fail now if the name does not resolve, then keeps a balanced
/// channel over its addresses. `failures` is notified by the channel's users when a
/// connection fails. The background task ends when the channel is dropped.
pub(crate) async fn balanced_channel(
    target: DnsTarget,
    endpoint: impl Fn(SocketAddr) -> Result<Endpoint, Error> + Send + 'static,
    interval: Duration,
    connect_timeout: Duration,
    failures: Arc<Notify>,
) -> Result<Channel, Error> {
    let resolver = resolver(&target)?;
    let first = lookup(&resolver, &target).await?;
    let (channel, changes) = Channel::balance_channel(64);
    let mut members = Members {
        changes,
        endpoint,
        current: HashSet::new(),
        connect_timeout,
    };
    members.follow(first).await?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = members.changes.closed() => return,
                () = tokio::time::sleep(interval) => {}
                () = failures.notified() => tokio::time::sleep(FAILURE_SPACING).await,
            }
            // A failed lookup keeps the members as they are: the replicas that answered
            // are better than none.
            if let Ok(addresses) = lookup(&resolver, &target).await
                && members.follow(addresses).await.is_err()
            {
                return;
            }
        }
    });
    Ok(channel)
}

/// The resolver for `target`: its own DNS server if it names one, else the system's.
fn resolver(target: &DnsTarget) -> Result<TokioResolver, Error> {
    let provider = TokioRuntimeProvider::default();
    let mut builder = match target.server {
        Some(server) => {
            let mut name_server = NameServerConfig::udp_and_tcp(server.ip());
            for connection in &mut name_server.connections {
                connection.port = server.port();
            }
            Resolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![name_server]),
                provider,
            )
        }
        None => Resolver::builder(provider).map_err(|e| {
            Error::Config(format!("cannot read the system's DNS configuration: {e}"))
        })?,
    };
    // Re-resolution must see a changed zone at once, not after a cached answer expires.
    builder.options_mut().cache_size = 0;
    builder
        .build()
        .map_err(|e| Error::Config(format!("cannot make a DNS resolver: {e}")))
}

async fn lookup(resolver: &TokioResolver, target: &DnsTarget) -> Result<Vec<SocketAddr>, Error> {
    let unresolved = |why: String| Error::Resolve {
        name: target.host.clone(),
        message: why,
    };
    let found = resolver
        .lookup_ip(target.host.as_str())
        .await
        .map_err(|e| unresolved(e.to_string()))?;
    let addresses: Vec<SocketAddr> = found
        .iter()
        .map(|ip| SocketAddr::new(ip, target.port))
        .collect();
    if addresses.is_empty() {
        return Err(unresolved("no addresses".into()));
    }
    Ok(addresses)
}

/// The balancer's members and how to make one.
struct Members<E> {
    changes: Sender<Change<SocketAddr, Endpoint>>,
    endpoint: E,
    current: HashSet<SocketAddr>,
    connect_timeout: Duration,
}

impl<E: Fn(SocketAddr) -> Result<Endpoint, Error>> Members<E> {
    /// Makes the members the resolved addresses that accept a connection (all of them if
    /// none does, so calls fail at once with the reason rather than wait for a member).
    /// Fails only when the channel is gone.
    async fn follow(&mut self, resolved: Vec<SocketAddr>) -> Result<(), Error> {
        let connect_timeout = self.connect_timeout;
        let probes = resolved.iter().map(|&address| async move {
            let connected =
                tokio::time::timeout(connect_timeout, tokio::net::TcpStream::connect(address))
                    .await;
            matches!(connected, Ok(Ok(_))).then_some(address)
        });
        let reachable: HashSet<SocketAddr> = futures_util::future::join_all(probes)
            .await
            .into_iter()
            .flatten()
            .collect();
        let wanted = if reachable.is_empty() {
            resolved.into_iter().collect()
        } else {
            reachable
        };
        let gone = || Error::Config("the channel was dropped".into());
        for &address in self.current.difference(&wanted) {
            self.changes
                .send(Change::Remove(address))
                .await
                .map_err(|_| gone())?;
        }
        for &address in wanted.difference(&self.current) {
            let endpoint = (self.endpoint)(address)?;
            self.changes
                .send(Change::Insert(address, endpoint))
                .await
                .map_err(|_| gone())?;
        }
        self.current = wanted;
        Ok(())
    }
}
