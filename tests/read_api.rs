//! The read API through the generated client against a real server process.

mod common;

use std::collections::HashSet;

use common::TestServer;
use pairing_aid_client::Client;
use pairing_aid_client::tonic::{Code, Status};
use pairing_aid_client::v1::*;

const SOURCE_TITLE: &str = "Commentary: Pairing assistance boosts Xinjiang development";

async fn all_projects(
    client: &Client,
    filter: &str,
    order_by: &str,
    page_size: i32,
) -> Vec<Project> {
    let mut projects = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .projects()
            .list_projects(ListProjectsRequest {
                page_size,
                page_token: page_token.clone(),
                filter: filter.into(),
                order_by: order_by.into(),
                ..Default::default()
            })
            .await
            .expect("list succeeds")
            .into_inner();
        assert!(page.projects.len() <= page_size as usize);
        projects.extend(page.projects);
        if page.next_page_token.is_empty() {
            assert_eq!(
                projects.len(),
                page.total_size as usize,
                "total_size counts every page"
            );
            return projects;
        }
        page_token = page.next_page_token;
    }
}

/// The `(reason, [(field, description)])` a client reads from an error's details.
fn details(status: &Status) -> (String, Vec<(String, String)>) {
    (common::reason(status), common::violations(status))
}

#[tokio::test]
async fn gets_each_kind_of_resource_by_name() {
    let server = TestServer::start();
    let client = server.client(None).await;

    let party = client
        .parties()
        .get_party(GetPartyRequest {
            name: "parties/beijing".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .party
        .unwrap();
    assert_eq!(party.display_name, "Beijing");
    assert_eq!(party.kind(), PartyKind::Municipality);
    assert!(!party.etag.is_empty());

    let area = client
        .areas()
        .get_area(GetAreaRequest {
            name: "areas/shufu".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .area
        .unwrap();
    assert_eq!(
        (area.level(), area.parent.as_str()),
        (AreaLevel::County, "areas/kashgar")
    );

    let pairing = client
        .pairings()
        .get_pairing(GetPairingRequest {
            name: "pairings/beijing-hotan".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .pairing
        .unwrap();
    assert_eq!(
        (pairing.party.as_str(), pairing.area.as_str()),
        ("parties/beijing", "areas/hotan")
    );
    assert_eq!(pairing.status(), DataStatus::Synthetic);

    let project = client
        .projects()
        .get_project(GetProjectRequest {
            name: "projects/beijing-hotan-2016-01".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap();
    assert_eq!(project.party, "parties/beijing");
    assert!(!project.funding_lines.is_empty());
    let amount = project.funding_lines[0].amount.clone().unwrap();
    assert_eq!(amount.currency_code, "CNY");
    assert!(amount.units > 0);

    let indicator = client
        .indicators()
        .get_indicator(GetIndicatorRequest {
            name: "indicators/gdp".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .indicator
        .unwrap();
    assert_eq!(
        (indicator.unit.as_str(), indicator.unit_multiplier),
        ("CNY", 12)
    );
    assert!(indicator.summable);

    let observation = client
        .observations()
        .get_observation(GetObservationRequest {
            name: "observations/assistance-funds-2013-2022".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .observation
        .unwrap();
    assert_eq!(observation.value, "170");
    assert_eq!(observation.qualifier(), Qualifier::About);
    assert_eq!(observation.status(), DataStatus::Reported);
    let provenance = observation.provenance.unwrap();
    assert_eq!(provenance.source_title, SOURCE_TITLE);
    assert!(
        provenance
            .quoted_passage
            .contains("about 170 billion yuan (23.7 billion U.S. dollars)")
    );
}

#[tokio::test]
async fn pages_through_every_project_once_in_order() {
    let server = TestServer::start();
    let client = server.client(None).await;
    let projects = all_projects(&client, "", "", 97).await;
    assert!(projects.len() > 500, "demo data has hundreds of projects");
    let names: Vec<&str> = projects.iter().map(|p| p.name.as_str()).collect();
    let unique: HashSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len(), "no project repeats across pages");
    assert!(
        names.windows(2).all(|w| w[0] < w[1]),
        "default order is by name"
    );

    let by_title = all_projects(&client, "", "title desc, name", 50).await;
    assert_eq!(by_title.len(), projects.len());
    assert!(by_title.windows(2).all(|w| w[0].title >= w[1].title));
}

#[tokio::test]
async fn filters_projects_by_party_field_years_and_area_hierarchy() {
    let server = TestServer::start();
    let client = server.client(None).await;
    let filter =
        r#"field = EDUCATION AND year >= 2015 AND year <= 2020 AND area = "areas/kashgar""#;
    let projects = all_projects(&client, filter, "", 20).await;
    assert!(!projects.is_empty());
    let areas = client
        .areas()
        .list_areas(ListAreasRequest {
            filter: r#"ancestor = "areas/kashgar" OR name = "areas/kashgar""#.into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let kashgar: HashSet<String> = areas.areas.into_iter().map(|a| a.name).collect();
    assert_eq!(kashgar.len(), 13, "Kashgar and its twelve counties");
    for project in &projects {
        assert_eq!(project.field(), SupportField::Education);
        assert!(
            project.recipients.iter().any(|r| kashgar.contains(&r.area)),
            "{}",
            project.name
        );
        assert!(
            project
                .funding_lines
                .iter()
                .any(|l| (2015..=2020).contains(&l.year))
        );
    }

    let everything = all_projects(&client, "", "", 1000).await;
    let expected = everything
        .iter()
        .filter(|p| p.party == "parties/shanghai" && !p.livelihood)
        .count();
    let filtered = all_projects(
        &client,
        r#"party = "parties/shanghai" AND NOT livelihood = true"#,
        "",
        1000,
    )
    .await;
    assert_eq!(filtered.len(), expected);
    assert!(expected > 0);

    let titled = all_projects(&client, r#"title:"TAP WATER""#, "", 1000).await;
    assert!(!titled.is_empty());
    assert!(
        titled
            .iter()
            .all(|p| p.title.to_lowercase().contains("tap water"))
    );
}

#[tokio::test]
async fn every_reported_figure_cites_the_article_and_nothing_synthetic_passes_as_reported() {
    let server = TestServer::start();
    let client = server.client(None).await;
    let observations = client
        .observations()
        .list_observations(ListObservationsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .observations;
    let source = common::source_article();
    assert!(observations.len() >= 10);
    for observation in &observations {
        let provenance = observation.provenance.as_ref().unwrap();
        assert_eq!(provenance.publisher, "Xinhua");
        assert_eq!(provenance.source_title, SOURCE_TITLE);
        if let Some(source) = &source {
            assert!(
                source.contains(&provenance.quoted_passage),
                "verbatim quote for {}",
                observation.name
            );
        }
        // The one figure the service computed says so; every other one is reported.
        let computed = observation.name == "observations/cny-per-usd-implied-2013-2022";
        let expected = if computed {
            DataStatus::Computed
        } else {
            DataStatus::Reported
        };
        assert_eq!(observation.status(), expected, "{}", observation.name);
        assert_eq!(
            computed,
            provenance.note.starts_with("Computed by pairing-aid")
        );
    }
    let qualifier = |name: &str| {
        observations
            .iter()
            .find(|o| o.name == name)
            .map(|o| (o.value.clone(), o.qualifier()))
    };
    assert_eq!(
        qualifier("observations/schools-built-2013-2022"),
        Some(("2100".into(), Qualifier::MoreThan))
    );
    assert_eq!(
        qualifier("observations/gdp-xinjiang-2022"),
        Some(("1.7".into(), Qualifier::Exact))
    );

    let reported = all_projects(&client, "data_status = REPORTED", "", 1000).await;
    assert!(reported.is_empty(), "the demo has no reported projects");
    for project in all_projects(&client, "", "", 1000).await {
        assert_eq!(project.data_status(), DataStatus::Synthetic);
        assert!(project.provenance.unwrap().note.contains("Synthetic"));
    }
}

#[tokio::test]
async fn bad_input_gets_invalid_argument_or_not_found_with_details() {
    let server = TestServer::start();
    let mut client = server.client(None).await.projects();

    let missing = client
        .get_project(GetProjectRequest {
            name: "projects/no-such-project".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(details(&missing).0, "RESOURCE_NOT_FOUND");
    assert!(missing.message().contains("projects/no-such-project"));

    let malformed = client
        .get_project(GetProjectRequest {
            name: "parties/beijing".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(malformed.code(), Code::InvalidArgument);
    let (reason, violations) = details(&malformed);
    assert_eq!(reason, "INVALID_NAME");
    assert_eq!(violations[0].0, "name");

    let list =
        |filter: &str, order_by: &str, page_size: i32, page_token: &str| ListProjectsRequest {
            filter: filter.into(),
            order_by: order_by.into(),
            page_size,
            page_token: page_token.into(),
            ..Default::default()
        };
    let bad_filter = client
        .list_projects(list("year >= 2015 AND colour = RED", "", 10, ""))
        .await
        .unwrap_err();
    assert_eq!(bad_filter.code(), Code::InvalidArgument);
    let (reason, violations) = details(&bad_filter);
    assert_eq!(reason, "INVALID_FILTER");
    assert_eq!(violations[0].0, "filter");
    assert!(
        violations[0].1.contains("position 18"),
        "{}",
        violations[0].1
    );
    assert!(violations[0].1.contains("unknown field `colour`"));

    let negative = client
        .list_projects(list("", "", -1, ""))
        .await
        .unwrap_err();
    assert_eq!(negative.code(), Code::InvalidArgument);
    assert_eq!(details(&negative).1[0].0, "page_size");

    let forged = client
        .list_projects(list("", "", 10, "bm90LWEtdG9rZW4"))
        .await
        .unwrap_err();
    assert_eq!(forged.code(), Code::InvalidArgument);
    assert_eq!(
        details(&forged),
        (
            "INVALID_PAGE_TOKEN".into(),
            vec![(
                "page_token".into(),
                "page token is corrupt or was not issued by this service".into()
            )]
        )
    );

    let first = client
        .list_projects(list("year >= 2015", "", 10, ""))
        .await
        .unwrap()
        .into_inner();
    let reused = client
        .list_projects(list("year >= 2016", "", 10, &first.next_page_token))
        .await
        .unwrap_err();
    assert_eq!(reused.code(), Code::InvalidArgument);
    assert!(details(&reused).1[0].1.contains("another query"));

    let bad_order = client
        .list_projects(list("", "area", 10, ""))
        .await
        .unwrap_err();
    assert_eq!(details(&bad_order).1[0].0, "order_by");

    let capped = client
        .list_projects(list("", "", 100_000, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        capped.projects.len(),
        (capped.total_size as usize).min(1000)
    );
}
