//! Lists the education projects in Kashgar funded from 2015 on, with their first funding line.
//!
//! Run a server (`cargo run --release`), then:
//! `cargo run -p pairing-aid-client --example list_projects -- http://127.0.0.1:50051`

use pairing_aid_client::v1::ListProjectsRequest;
use pairing_aid_client::{Client, Error};

/// Runs the example against the server at `endpoint`: the projects matching, in all.
pub async fn run(endpoint: &str) -> Result<i32, Error> {
    let client = Client::connect(endpoint).await?;
    let page = client
        .projects()
        .list_projects(ListProjectsRequest {
            filter: r#"field = EDUCATION AND area = "areas/kashgar" AND year >= 2015"#.into(),
            order_by: "title".into(),
            page_size: 10,
            ..Default::default()
        })
        .await?
        .into_inner();
    println!(
        "{} matching projects; the first {}:",
        page.total_size,
        page.projects.len()
    );
    for project in page.projects {
        let amount = project.funding_lines.first().and_then(|l| l.amount.clone());
        let amount = amount.map_or("-".into(), |m| format!("{} {}", m.units, m.currency_code));
        println!("{}  {}  {}", project.name, project.title, amount);
    }
    Ok(page.total_size)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let endpoint = std::env::args().nth(1);
    run(endpoint.as_deref().unwrap_or("http://127.0.0.1:50051")).await?;
    Ok(())
}
