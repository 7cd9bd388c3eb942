//! Places by any name or code, against the real server with the demo data: the names and
//! codes the demo cites, resolution and filters that find a place however it is written, and
//! codes that cannot be held twice or malformed.

mod common;

use common::{ADMIN_TOKEN, TestServer, violations};
use pairing_aid_client::pb::google::r#type::Date;
use pairing_aid_client::tonic::Code;
use pairing_aid_client::v1::*;

async fn resolve(server: &TestServer, query: &str) -> Vec<PlaceMatch> {
    server
        .client(None)
        .await
        .areas()
        .resolve_places(ResolvePlacesRequest {
            query: query.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .matches
}

#[tokio::test]
async fn a_place_is_found_by_any_of_its_names_or_codes() {
    let server = TestServer::start_with_tokens(&[]);
    // Chinese (the beginning of 莎车县), pinyin without its marks, fullwidth capitals, the
    // administrative division code, Uyghur in Latin and Arabic script.
    for query in ["莎车", "Shache", "ＳＨＡＣＨＥ", "653125", "yeken", "يەكەن"] {
        let found = resolve(&server, query).await;
        assert!(!found.is_empty(), "{query} finds nothing");
        assert!(
            found.iter().all(|m| m.place == "areas/yarkant"),
            "{query}: {found:?}"
        );
    }
    let by_code = resolve(&server, "653125").await;
    assert_eq!(
        (
            by_code[0].scheme(),
            by_code[0].exact,
            by_code[0].display_name.as_str()
        ),
        (CodeScheme::AdminDivision, true, "Yarkant County")
    );
    let by_name = resolve(&server, "莎车").await;
    assert_eq!(
        (
            by_name[0].matched_text.as_str(),
            by_name[0].language.as_str(),
            by_name[0].exact
        ),
        ("莎车县", "zh-Hans", false)
    );
    // Parties by their province codes, the region by its ISO 3166-2 code.
    assert_eq!(resolve(&server, "cn-bj").await[0].place, "parties/beijing");
    assert_eq!(resolve(&server, "CN-XJ").await[0].place, "areas/xinjiang");
    assert!(resolve(&server, "Atlantis").await.is_empty());

    // The area carries its names, codes and the pages they come from.
    let area = server
        .client(None)
        .await
        .areas()
        .get_area(GetAreaRequest {
            name: "areas/yarkant".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .area
        .unwrap();
    assert!(
        area.names
            .iter()
            .any(|n| n.text == "يەكەن ناھىيىسى" && n.language == "ug-Arab")
    );
    let provenance = area.provenance.unwrap();
    assert!(
        provenance.quoted_passage.contains("653125"),
        "{provenance:?}"
    );
    assert!(provenance.source_uri.starts_with("https://"));

    // Filters match any name or code too.
    let mut areas = server.client(None).await.areas();
    for filter in [
        r#"names:"莎车""#,
        r#"names:"shāchē""#,
        r#"codes = "653125""#,
    ] {
        let listed = areas
            .list_areas(ListAreasRequest {
                filter: filter.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let names: Vec<&str> = listed.areas.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["areas/yarkant"], "{filter}");
    }
    let parties = server
        .client(None)
        .await
        .parties()
        .list_parties(ListPartiesRequest {
            filter: r#"codes = "CN-BJ""#.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(parties.parties[0].name, "parties/beijing");
}

#[tokio::test]
async fn names_and_codes_hold_for_their_dates_and_bad_ones_are_refused() {
    let server = TestServer::start_with_tokens(&[]);
    let admin = server.client(Some(ADMIN_TOKEN)).await;
    let date = |year| {
        Some(Date {
            year,
            month: 1,
            day: 1,
        })
    };
    let area = |names: Vec<PlaceName>, codes: Vec<PlaceCode>| Area {
        display_name: "Test County".into(),
        level: AreaLevel::County.into(),
        parent: "areas/kashgar".into(),
        names,
        codes,
        provenance: Some(Provenance {
            source_title: "Test gazetteer, not a real one".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let name = |text: &str, language: &str| PlaceName {
        text: text.into(),
        language: language.into(),
        ..Default::default()
    };
    let code = |scheme: CodeScheme, value: &str| PlaceCode {
        scheme: scheme.into(),
        value: value.into(),
        ..Default::default()
    };
    let create = |area: Area| CreateAreaRequest {
        area: Some(area),
        area_id: "test-county".into(),
        request_id: String::new(),
        reason: String::new(),
    };

    let refused = admin
        .areas()
        .create_area(create(area(
            vec![name("Test", "not a tag!"), name("", "en")],
            vec![
                code(CodeScheme::AdminDivision, "900001"),
                code(CodeScheme::AdminDivision, "900001"),
                code(CodeScheme::AdminDivision, "65312"),
                code(CodeScheme::Iso31662, "XJ"),
                code(CodeScheme::AdminDivision, "653125"),
            ],
        )))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    let found = violations(&refused);
    let fields: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
    for expected in [
        "area.names[0].language",
        "area.names[1].text",
        "area.codes[1].value",
        "area.codes[2].value",
        "area.codes[3].value",
        "area.codes[4].value",
    ] {
        assert!(fields.contains(&expected), "{expected} in {found:?}");
    }
    let held = found
        .iter()
        .find(|(f, _)| f == "area.codes[4].value")
        .unwrap();
    assert!(held.1.contains("areas/yarkant"), "{held:?}");
    assert!(
        resolve(&server, "Test County").await.is_empty(),
        "nothing written"
    );

    // A name that held until 2019 is found for a day before then, not after.
    let mut old_name = name("Old Test Name", "en");
    old_name.valid_to = date(2018);
    admin
        .areas()
        .create_area(create(area(
            vec![old_name, name("测试县", "zh-Hans")],
            vec![code(CodeScheme::AdminDivision, "900001")],
        )))
        .await
        .unwrap();
    let on = |year| ResolvePlacesRequest {
        query: "old test".into(),
        date: date(year),
        ..Default::default()
    };
    let mut areas = server.client(None).await.areas();
    let before = areas.resolve_places(on(2015)).await.unwrap().into_inner();
    assert_eq!(before.matches[0].place, "areas/test-county");
    let after = areas.resolve_places(on(2020)).await.unwrap().into_inner();
    assert!(after.matches.is_empty(), "{after:?}");
    // Its code is now held: another place cannot take it.
    let taken = admin
        .areas()
        .create_area(CreateAreaRequest {
            area: Some(area(
                vec![],
                vec![code(CodeScheme::AdminDivision, "900001")],
            )),
            area_id: "other-county".into(),
            request_id: String::new(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert!(
        violations(&taken)[0].1.contains("areas/test-county"),
        "{taken:?}"
    );

    for (request, field) in [
        (
            ResolvePlacesRequest {
                query: " ".into(),
                ..Default::default()
            },
            "query",
        ),
        (
            ResolvePlacesRequest {
                query: "x".into(),
                page_size: -1,
                ..Default::default()
            },
            "page_size",
        ),
        (
            ResolvePlacesRequest {
                query: "x".into(),
                date: Some(Date {
                    year: 2023,
                    month: 2,
                    day: 30,
                }),
                ..Default::default()
            },
            "date",
        ),
    ] {
        let error = areas.resolve_places(request).await.unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument);
        assert_eq!(violations(&error)[0].0, field);
    }
}
