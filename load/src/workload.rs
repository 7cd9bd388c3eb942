//! What each simulated caller asks, one call at a time.

use pairing_aid_client::{Client, v1};
use tonic::Code;
use tonic::transport::Channel;

use crate::echo::pb::EchoRequest;
use crate::echo::pb::echo_service_client::EchoServiceClient;

/// The calls a run makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// GetProject of a random project.
    Get,
    /// 80 % GetProject, 15 % ListProjects (a page of 20, filtered), 5 % SummarizeFunding.
    Reads,
    /// UpdateProject of a random project's description, each with a request id.
    Writes,
    /// 90 % of the read mix and 10 % writes: what the soak runs.
    Mixed,
    /// SummarizeFunding by party and field over 2015-2020: the analytics benchmark's question.
    Summary,
    /// The echo service's only call.
    Echo,
}

/// The connections of a run and what the calls pick from.
pub enum Target {
    Service {
        /// One client per connection.
        clients: Vec<Client>,
        /// Names of existing projects.
        projects: Vec<String>,
    },
    Echo {
        clients: Vec<EchoServiceClient<Channel>>,
        /// What every call sends and gets back.
        payload: Vec<u8>,
    },
}

/// A small, fast random number generator; each caller has its own.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound.max(1) as u64) as usize
    }
}

impl Target {
    /// Opens `connections` connections to `endpoint` and, for the service, reads the project
    /// names the calls use.
    pub async fn connect(
        endpoint: &str,
        token: Option<&str>,
        workload: Workload,
        connections: usize,
        echo_payload_bytes: usize,
    ) -> Result<Target, String> {
        if workload == Workload::Echo {
            let mut clients = Vec::new();
            for _ in 0..connections {
                let channel = tonic::transport::Endpoint::from_shared(endpoint.to_owned())
                    .map_err(|e| e.to_string())?
                    .tcp_nodelay(true)
                    .connect()
                    .await
                    .map_err(|e| format!("connecting to {endpoint}: {e}"))?;
                clients.push(EchoServiceClient::new(channel));
            }
            return Ok(Target::Echo {
                clients,
                payload: vec![b'x'; echo_payload_bytes],
            });
        }
        let mut clients = Vec::new();
        for _ in 0..connections {
            let mut builder = Client::builder()
                .endpoint(endpoint)
                .retry(pairing_aid_client::RetryPolicy::none());
            if let Some(token) = token {
                builder = builder.token(token);
            }
            clients.push(builder.connect().await.map_err(|e| e.to_string())?);
        }
        let page = clients[0]
            .projects()
            .list_projects(v1::ListProjectsRequest {
                page_size: 1000,
                ..Default::default()
            })
            .await
            .map_err(|e| format!("listing projects: {e}"))?
            .into_inner();
        let projects: Vec<String> = page.projects.into_iter().map(|p| p.name).collect();
        if projects.is_empty() {
            return Err("the server holds no projects to read".into());
        }
        Ok(Target::Service { clients, projects })
    }

    /// The mean encoded size of a GetProject response, over the projects the calls pick from.
    pub async fn mean_get_response_bytes(&self) -> Result<usize, String> {
        let Target::Service { clients, projects } = self else {
            return Ok(0);
        };
        let mut total = 0;
        for name in projects {
            let request = v1::GetProjectRequest {
                name: name.clone(),
                min_revision: 0,
                read_at: None,
            };
            let response = clients[0]
                .projects()
                .get_project(request)
                .await
                .map_err(|e| e.to_string())?;
            total += prost::Message::encoded_len(response.get_ref());
        }
        Ok(total / projects.len())
    }

    /// Makes one call on connection `connection`.
    pub async fn call(
        &self,
        workload: Workload,
        connection: usize,
        rng: &mut Rng,
    ) -> Result<(), Code> {
        match self {
            Target::Echo { clients, payload } => {
                let mut client = clients[connection % clients.len()].clone();
                let request = EchoRequest {
                    payload: payload.clone(),
                };
                client.echo(request).await.map(drop).map_err(|s| s.code())
            }
            Target::Service { clients, projects } => {
                let client = &clients[connection % clients.len()];
                let project = projects[rng.below(projects.len())].clone();
                let roll = rng.below(100);
                let result = match workload {
                    Workload::Writes => update(client, project, rng).await,
                    Workload::Mixed if roll < 10 => update(client, project, rng).await,
                    Workload::Reads | Workload::Mixed => read(client, project, rng).await,
                    Workload::Summary => summarize(client).await,
                    Workload::Get | Workload::Echo => get(client, project).await,
                };
                result.map_err(|s| s.code())
            }
        }
    }
}

async fn get(client: &Client, name: String) -> Result<(), tonic::Status> {
    let request = v1::GetProjectRequest {
        name,
        min_revision: 0,
        read_at: None,
    };
    client.projects().get_project(request).await.map(drop)
}

async fn read(client: &Client, name: String, rng: &mut Rng) -> Result<(), tonic::Status> {
    match rng.below(100) {
        0..80 => get(client, name).await,
        80..95 => {
            let request = v1::ListProjectsRequest {
                filter: "field = EDUCATION AND livelihood = true".into(),
                page_size: 20,
                ..Default::default()
            };
            client.projects().list_projects(request).await.map(drop)
        }
        _ => summarize(client).await,
    }
}

/// Funding by party and field over 2015-2020, under `filter`: the analytics benchmark's
/// question.
pub fn party_by_field(filter: &str) -> v1::SummarizeFundingRequest {
    v1::SummarizeFundingRequest {
        filter: filter.into(),
        group_by: vec![
            v1::FundingDimension::Party.into(),
            v1::FundingDimension::Field.into(),
        ],
        start_year: 2015,
        end_year: 2020,
        ..Default::default()
    }
}

async fn summarize(client: &Client) -> Result<(), tonic::Status> {
    let request = party_by_field("");
    client
        .analytics()
        .summarize_funding(request)
        .await
        .map(drop)
}

async fn update(client: &Client, name: String, rng: &mut Rng) -> Result<(), tonic::Status> {
    let request = v1::UpdateProjectRequest {
        project: Some(v1::Project {
            name,
            description: format!("Load test revision {}", rng.below(1_000_000)),
            ..Default::default()
        }),
        update_mask: Some(pairing_aid_client::prost_types::FieldMask {
            paths: vec!["description".into()],
        }),
        request_id: pairing_aid_client::new_request_id(),
        reason: "load test".into(),
    };
    client.projects().update_project(request).await.map(drop)
}
