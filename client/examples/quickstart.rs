//! Connects, lists the education projects in Kashgar page by page, and reads one that does
//! not exist to show what an error carries.
//!
//! `cargo run -p pairing-aid-client --example quickstart -- http://127.0.0.1:50051`

use futures_util::TryStreamExt;
use pairing_aid_client::{Client, Error, v1};

/// Runs the example against the server at `endpoint`: the number of projects it listed.
pub async fn run(endpoint: &str) -> Result<usize, Error> {
    // https://HOST:PORT turns TLS on (.tls_ca_pem for a private CA); dns:///NAME:PORT
    // balances over every address the name resolves to, following DNS as it changes.
    let client = Client::builder()
        .endpoint(endpoint)
        .deadline(Some(std::time::Duration::from_secs(10)))
        .connect()
        .await?;

    // Every page, fetched as the stream is read (and retried if a replica goes away).
    let education: Vec<v1::Project> = client
        .list_projects(v1::ListProjectsRequest {
            filter: r#"field = EDUCATION AND area = "areas/kashgar""#.into(),
            order_by: "title".into(),
            ..Default::default()
        })
        .items()
        .try_collect()
        .await?;
    for project in &education {
        println!("{}  {}", project.name, project.title);
    }

    // Errors carry the code, the reason and the fields at fault.
    let missing = client
        .projects()
        .get_project(v1::GetProjectRequest {
            name: "projects/no-such-project".into(),
            ..Default::default()
        })
        .await
        .map_err(Error::from);
    if let Err(error) = missing {
        println!("{:?} {:?}: {error}", error.code(), error.reason());
    }
    Ok(education.len())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let endpoint = std::env::args().nth(1);
    let listed = run(endpoint.as_deref().unwrap_or("http://127.0.0.1:50051")).await?;
    println!("{listed} education projects in Kashgar");
    Ok(())
}
