//! Records a project with a write token. `Client::write` gives the request a fresh
//! `request_id` and retries it if the answer is lost, and the server applies it once.
//!
//! `cargo run -p pairing-aid-client --example record_project -- http://127.0.0.1:50051 TOKEN`

use pairing_aid_client::pb::google::r#type::Money;
use pairing_aid_client::{Client, Error, v1};

/// Records `projects/{id}` on the server at `endpoint`: the revision that committed it.
pub async fn run(endpoint: &str, token: &str, id: &str) -> Result<i64, Error> {
    let client = Client::builder()
        .endpoint(endpoint)
        .token(token)
        .connect()
        .await?;
    let project = v1::Project {
        title: "Yarkant county clinic upgrade".into(),
        party: "parties/shanghai".into(),
        recipients: vec![v1::RecipientArea {
            area: "areas/yarkant".into(),
            share_percent: "100".into(),
        }],
        field: v1::SupportField::HealthCare.into(),
        livelihood: true,
        status: v1::ProjectStatus::Planned.into(),
        funding_lines: vec![v1::FundingLine {
            r#type: v1::FundingType::Commitment.into(),
            year: 2023,
            amount: Some(Money {
                currency_code: "CNY".into(),
                units: 12_500_000,
                nanos: 0,
            }),
            ..Default::default()
        }],
        data_status: v1::DataStatus::Estimated.into(),
        provenance: Some(v1::Provenance {
            source_title: "Programme office ledger".into(),
            publisher: "Shanghai assistance office".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let request = v1::CreateProjectRequest {
        project_id: id.into(),
        project: Some(project),
        ..Default::default()
    };
    let created = client
        .write(request, |client, request| async move {
            client.projects().create_project(request).await
        })
        .await;
    match created {
        Ok(project) => Ok(project.revision),
        Err(error) => {
            for violation in error.violations() {
                eprintln!("{}: {}", violation.field, violation.description);
            }
            Err(error)
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let endpoint = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:50051".into());
    let token = args.next().unwrap_or_default();
    let revision = run(&endpoint, &token, "yarkant-clinic-2023").await?;
    println!("recorded at revision {revision}");
    Ok(())
}
