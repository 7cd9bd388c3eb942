//! Analysts' questions through the real client: funding summaries, currency and price basis,
//! series with derived figures, roll-ups, rankings and reconciliation.

mod common;

use common::{ADMIN_TOKEN, TestServer, WRITE_TOKEN, reason};
use pairing_aid_client::pb::google::r#type::Money;
use pairing_aid_client::tonic::Code;
use pairing_aid_client::v1::*;
use rust_decimal::Decimal;
use tonic_types::StatusExt;

fn amount(money: &Option<Money>) -> Decimal {
    let money = money.as_ref().unwrap();
    Decimal::from(money.units) + Decimal::new(i64::from(money.nanos), 9)
}

/// The education commitments in Kashgar, 2015-2020, per project, recomputed from ListProjects.
async fn kashgar_education_commitments(server: &TestServer) -> Decimal {
    let projects = server
        .client(None)
        .await
        .projects()
        .list_projects(ListProjectsRequest {
            filter: r#"field = EDUCATION AND area = "areas/kashgar""#.into(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .projects;
    projects
        .iter()
        .flat_map(|p| &p.funding_lines)
        .filter(|l| l.r#type() == FundingType::Commitment && (2015..=2020).contains(&l.year))
        .map(|l| amount(&l.amount))
        .sum()
}

#[tokio::test]
async fn one_call_answers_how_much_each_province_committed_to_education_in_kashgar_and_the_livelihood_share()
 {
    let server = TestServer::start();
    let mut analytics = server.client(None).await.analytics();
    let summary = analytics
        .summarize_funding(SummarizeFundingRequest {
            filter: r#"field = EDUCATION AND area = "areas/kashgar""#.into(),
            group_by: vec![
                FundingDimension::Party.into(),
                FundingDimension::Livelihood.into(),
            ],
            funding_types: vec![FundingType::Commitment.into()],
            start_year: 2015,
            end_year: 2020,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let total = summary.total.unwrap();
    assert_eq!(
        amount(&total.amount),
        kashgar_education_commitments(&server).await
    );
    let sum: Decimal = summary.groups.iter().map(|g| amount(&g.amount)).sum();
    assert_eq!(sum, amount(&total.amount), "the groups add up to the total");
    let parties: Vec<&str> = summary
        .groups
        .iter()
        .map(|g| g.keys[0].display_name.as_str())
        .collect();
    assert!(
        parties.contains(&"Shanghai") && parties.contains(&"Guangdong"),
        "{parties:?}"
    );
    let shares: Decimal = summary
        .groups
        .iter()
        .map(|g| g.share.parse::<Decimal>().unwrap())
        .sum();
    assert!((shares - Decimal::ONE).abs() < Decimal::new(1, 4));
    assert!(
        summary
            .groups
            .windows(2)
            .all(|w| amount(&w[0].amount) >= amount(&w[1].amount)),
        "largest first"
    );

    let top = analytics
        .summarize_funding(SummarizeFundingRequest {
            group_by: vec![FundingDimension::Area.into()],
            area_level: AreaLevel::County.into(),
            top_n: 3,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(top.groups.len(), 4);
    assert!(top.groups[3].other && top.groups[3].keys.is_empty());
    let sum: Decimal = top.groups.iter().map(|g| amount(&g.amount)).sum();
    assert_eq!(sum, amount(&top.total.unwrap().amount));
}

#[tokio::test]
async fn amounts_convert_to_dollars_with_the_rate_they_name() {
    let server = TestServer::start();
    let mut analytics = server.client(None).await.analytics();
    let ask = |currency: &str| SummarizeFundingRequest {
        currency_code: currency.into(),
        start_year: 2013,
        end_year: 2022,
        ..Default::default()
    };
    let yuan = analytics
        .summarize_funding(ask(""))
        .await
        .unwrap()
        .into_inner();
    let dollars = analytics
        .summarize_funding(ask("USD"))
        .await
        .unwrap()
        .into_inner();
    let yuan_total = amount(&yuan.total.unwrap().amount);
    let dollar_total = dollars.total.as_ref().unwrap();
    assert_eq!(dollar_total.amount.as_ref().unwrap().currency_code, "USD");
    let implied = yuan_total / amount(&dollar_total.amount);
    assert!(
        (implied - "7.172996".parse::<Decimal>().unwrap()).abs() < Decimal::new(1, 4),
        "{implied}"
    );
    assert!(yuan.conversions.is_empty(), "no conversion for yuan");
    let conversion = &dollars.conversions[0];
    assert_eq!(
        conversion.observation,
        "observations/cny-per-usd-implied-2013-2022"
    );
    assert_eq!(conversion.status(), DataStatus::Computed);
    assert!(
        conversion
            .provenance
            .as_ref()
            .unwrap()
            .quoted_passage
            .contains("23.7 billion U.S. dollars")
    );

    let no_rate = analytics.summarize_funding(ask("EUR")).await.unwrap_err();
    assert_eq!(
        (no_rate.code(), reason(&no_rate)),
        (Code::FailedPrecondition, "MISSING_SERIES".into())
    );
}

#[tokio::test]
async fn constant_prices_use_a_stored_deflator_and_refuse_without_one() {
    let server = TestServer::start_with_tokens(&[]);
    let mut analytics = server.client(None).await.analytics();
    let ask = SummarizeFundingRequest {
        price_base_year: 2015,
        start_year: 2015,
        end_year: 2016,
        ..Default::default()
    };
    let missing = analytics.summarize_funding(ask.clone()).await.unwrap_err();
    assert_eq!(reason(&missing), "MISSING_SERIES");

    create_series(&server, "deflator-test", "index", SeriesRole::Deflator).await;
    let point = |year: &str, value: &str| Observation {
        name: format!("observations/deflator-test-{year}"),
        indicator: "indicators/deflator-test".into(),
        area: "areas/china".into(),
        period: year.into(),
        value: value.into(),
        qualifier: Qualifier::Exact.into(),
        status: DataStatus::Estimated.into(),
        provenance: Some(Provenance {
            source_title: "Test series, not a real deflator".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    upsert_observations(&server, vec![point("2015", "100"), point("2016", "125")]).await;
    let by_year = |summary: &SummarizeFundingResponse, year: &str| {
        summary
            .groups
            .iter()
            .find(|g| g.keys[0].value == year)
            .map(|g| amount(&g.amount))
            .unwrap()
    };
    let grouped = SummarizeFundingRequest {
        group_by: vec![FundingDimension::Year.into()],
        ..ask.clone()
    };
    let nominal = analytics
        .summarize_funding(SummarizeFundingRequest {
            price_base_year: 0,
            ..grouped.clone()
        })
        .await
        .unwrap()
        .into_inner();
    let constant = analytics
        .summarize_funding(grouped)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_year(&constant, "2015"), by_year(&nominal, "2015"));
    let expected = by_year(&nominal, "2016") * Decimal::new(8, 1);
    assert!(
        (by_year(&constant, "2016") - expected).abs() < Decimal::ONE,
        "2016 deflated by 100/125"
    );
    assert!(
        constant
            .conversions
            .iter()
            .any(|c| c.observation == "observations/deflator-test-2016" && c.factor == "0.8")
    );
}

/// Creates an annual series the service converts with: test figures, not published ones.
async fn create_series(server: &TestServer, id: &str, unit: &str, role: SeriesRole) {
    server
        .client(Some(ADMIN_TOKEN))
        .await
        .indicators()
        .create_indicator(CreateIndicatorRequest {
            indicator: Some(Indicator {
                code: id.to_uppercase(),
                display_name: format!("Test series {id}, not a published one"),
                unit: unit.into(),
                frequency: Frequency::Annual.into(),
                measure_kind: MeasureKind::Ratio.into(),
                series_role: role.into(),
                ..Default::default()
            }),
            indicator_id: id.into(),
            request_id: String::new(),
            reason: String::new(),
        })
        .await
        .unwrap();
}

/// Writes `observations` in one batch, as the programme office would.
async fn upsert_observations(server: &TestServer, observations: Vec<Observation>) {
    server
        .client(Some(WRITE_TOKEN))
        .await
        .records()
        .batch_upsert_observations(BatchUpsertObservationsRequest {
            observations,
            request_id: String::new(),
            reason: String::new(),
        })
        .await
        .unwrap();
}

async fn add_gdp(server: &TestServer, area: &str, values: &[(&str, &str)], status: DataStatus) {
    let observations = values
        .iter()
        .map(|(year, value)| Observation {
            name: format!(
                "observations/gdp-{}-{year}",
                area.trim_start_matches("areas/")
            ),
            indicator: "indicators/gdp".into(),
            area: area.into(),
            period: (*year).into(),
            value: (*value).into(),
            qualifier: Qualifier::Exact.into(),
            status: status.into(),
            reading: Reading::Printed.into(),
            provenance: Some(Provenance {
                source_title: "Test figures, not a real source".into(),
                quoted_passage: format!("GDP was {value} trillion yuan in {year}."),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    upsert_observations(server, observations).await;
}

#[tokio::test]
async fn series_derive_growth_index_and_doubling_time_labelled_computed() {
    let server = TestServer::start_with_tokens(&[]);
    add_gdp(
        &server,
        "areas/kashgar",
        &[
            ("2018", "0.100"),
            ("2019", "0.110"),
            ("2020", "0.121"),
            ("2021", "0.1331"),
        ],
        DataStatus::Estimated,
    )
    .await;
    add_gdp(
        &server,
        "areas/hotan",
        &[("2018", "0.050"), ("2021", "0.060")],
        DataStatus::Reported,
    )
    .await;
    let response = server
        .client(None)
        .await
        .analytics()
        .get_indicator_series(GetIndicatorSeriesRequest {
            indicator: "indicators/gdp".into(),
            areas: vec!["areas/kashgar".into(), "areas/hotan".into()],
            start_period: "2018".into(),
            derivations: vec![
                Derivation::YearOnYear.into(),
                Derivation::Cagr.into(),
                Derivation::Index.into(),
                Derivation::DoublingTime.into(),
            ],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.series.len(), 2, "side by side");
    let kashgar = &response.series[0];
    assert_eq!(kashgar.observations.len(), 4);
    let find = |d: Derivation, period: &str| {
        kashgar
            .derived
            .iter()
            .find(|f| f.derivation() == d && f.period == period)
            .unwrap_or_else(|| panic!("{d:?} {period}"))
    };
    let yoy = find(Derivation::YearOnYear, "2019");
    assert_eq!(yoy.value, "10");
    assert_eq!(
        yoy.inputs,
        vec![
            "observations/gdp-kashgar-2018",
            "observations/gdp-kashgar-2019"
        ]
    );
    assert_eq!(
        (yoy.status(), yoy.input_status()),
        (DataStatus::Computed, DataStatus::Estimated)
    );
    assert_eq!(find(Derivation::Cagr, "2018/2021").value, "10");
    assert_eq!(find(Derivation::Index, "2021").value, "133.1");
    let doubling: f64 = find(Derivation::DoublingTime, "2018/2021")
        .value
        .parse()
        .unwrap();
    assert!((doubling - 7.2725).abs() < 0.001, "{doubling}");

    let hotan = &response.series[1];
    assert!(
        hotan
            .derived
            .iter()
            .all(|f| f.derivation() != Derivation::YearOnYear),
        "no consecutive years"
    );
    assert_eq!(
        hotan
            .derived
            .iter()
            .find(|f| f.derivation() == Derivation::Cagr)
            .unwrap()
            .input_status(),
        DataStatus::Reported
    );

    let bad = server
        .client(None)
        .await
        .analytics()
        .get_indicator_series(GetIndicatorSeriesRequest {
            indicator: "indicators/gdp".into(),
            areas: vec!["areas/kashgar".into()],
            start_period: "2018Q1".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        bad.get_error_details()
            .bad_request()
            .unwrap()
            .field_violations[0]
            .field,
        "start_period"
    );
}

#[tokio::test]
async fn roll_up_sums_summable_indicators_ranks_areas_and_refuses_rates() {
    let server = TestServer::start_with_tokens(&[]);
    add_gdp(
        &server,
        "areas/shufu",
        &[("2022", "0.02")],
        DataStatus::Estimated,
    )
    .await;
    add_gdp(
        &server,
        "areas/shule",
        &[("2022", "0.03")],
        DataStatus::Reported,
    )
    .await;
    add_gdp(
        &server,
        "areas/hotan",
        &[("2022", "0.07"), ("2021", "0")],
        DataStatus::Estimated,
    )
    .await;
    let mut analytics = server.client(None).await.analytics();
    let rolled = analytics
        .roll_up_indicator(RollUpIndicatorRequest {
            indicator: "indicators/gdp".into(),
            period: "2022".into(),
            level: AreaLevel::Prefecture.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let kashgar = rolled
        .values
        .iter()
        .find(|v| v.area == "areas/kashgar")
        .unwrap();
    assert_eq!(kashgar.computed_value, "0.05");
    assert_eq!(kashgar.inputs.len(), 2);
    // What the sum rests on: the reported county first, then the estimated one.
    assert_eq!(kashgar.input_status(), DataStatus::Estimated);
    let coverage: Vec<(DataStatus, &str, i64, &str)> = kashgar
        .coverage
        .iter()
        .map(|c| (c.status(), c.value.as_str(), c.count, c.share.as_str()))
        .collect();
    assert_eq!(
        coverage,
        [
            (DataStatus::Reported, "0.03", 1, "0.6"),
            (DataStatus::Estimated, "0.02", 1, "0.4")
        ]
    );
    let region = analytics
        .roll_up_indicator(RollUpIndicatorRequest {
            indicator: "indicators/gdp".into(),
            period: "2022".into(),
            level: AreaLevel::Region.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let xinjiang = region
        .values
        .iter()
        .find(|v| v.area == "areas/xinjiang")
        .unwrap();
    assert_eq!(
        xinjiang.reported_value, "1.7",
        "the region's own reported figure beside the sum"
    );
    assert_eq!(
        xinjiang.computed_value, "0.12",
        "counties once, via Kashgar, plus Hotan"
    );

    let refused = analytics
        .roll_up_indicator(RollUpIndicatorRequest {
            indicator: "indicators/gdp-average-growth".into(),
            period: "2013/2022".into(),
            level: AreaLevel::Region.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::InvalidArgument, "NOT_SUMMABLE".into())
    );

    let ranked = analytics
        .rank_areas(RankAreasRequest {
            indicator: "indicators/gdp".into(),
            period: "2022".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let order: Vec<&str> = ranked
        .observations
        .iter()
        .map(|o| o.area.as_str())
        .collect();
    assert_eq!(
        order,
        vec![
            "areas/xinjiang",
            "areas/hotan",
            "areas/shule",
            "areas/shufu"
        ]
    );
    // The order rests on two reported and two estimated figures, and says so.
    assert_eq!(ranked.status(), DataStatus::Estimated);
    let coverage: Vec<(DataStatus, i64, &str)> = ranked
        .coverage
        .iter()
        .map(|c| (c.status(), c.count, c.share.as_str()))
        .collect();
    assert_eq!(
        coverage,
        [
            (DataStatus::Reported, 2, "0.5"),
            (DataStatus::Estimated, 2, "0.5")
        ]
    );

    let latest = analytics
        .get_latest_observations(GetLatestObservationsRequest {
            indicator: "indicators/gdp".into(),
            areas: vec!["areas/hotan".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(latest.observations[0].period, "2022");
}

#[tokio::test]
async fn reported_aggregates_stand_beside_figures_computed_from_the_records() {
    let server = TestServer::start();
    let report = server
        .client(None)
        .await
        .analytics()
        .reconcile_reported_figures(ReconcileReportedFiguresRequest::default())
        .await
        .unwrap()
        .into_inner();
    let get = |name: &str| {
        report
            .reconciliations
            .iter()
            .find(|r| r.reported.as_ref().unwrap().name == name)
            .unwrap_or_else(|| panic!("{name} reconciled"))
    };
    let funds = get("observations/assistance-funds-2013-2022");
    let reported = funds.reported.as_ref().unwrap();
    assert_eq!(
        (reported.value.as_str(), reported.qualifier()),
        ("170", Qualifier::About)
    );
    assert!(
        reported
            .provenance
            .as_ref()
            .unwrap()
            .quoted_passage
            .contains("about 170 billion yuan")
    );
    let computed: Decimal = funds.computed_value.parse().unwrap();
    assert!(funds.qualifier_satisfied, "about 170 vs {computed}");
    assert_eq!(
        funds.difference.parse::<Decimal>().unwrap(),
        computed - Decimal::from(170)
    );
    assert_eq!(
        funds.input_status(),
        DataStatus::Synthetic,
        "computed from synthetic records, and says so"
    );

    let schools = get("observations/schools-built-2013-2022");
    assert_eq!(
        schools.reported.as_ref().unwrap().qualifier(),
        Qualifier::MoreThan
    );
    assert!(schools.computed_value.parse::<Decimal>().unwrap() > Decimal::from(2100));
    assert!(schools.qualifier_satisfied);
    assert!(get("observations/livelihood-share-2013-2022").qualifier_satisfied);
    assert!(get("observations/assistance-funds-usd-2013-2022").qualifier_satisfied);
    assert!(
        report
            .reconciliations
            .iter()
            .all(|r| r.reported.as_ref().unwrap().name != "observations/gdp-xinjiang-2022"),
        "GDP is not computable from projects"
    );

    let tight = server
        .client(None)
        .await
        .analytics()
        .reconcile_reported_figures(ReconcileReportedFiguresRequest {
            filter: r#"indicator = "indicators/assistance-funds""#.into(),
            about_tolerance_percent: "0.1".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tight.reconciliations.len(), 1);
    assert!(
        !tight.reconciliations[0].qualifier_satisfied,
        "within 0.1 percent of 170 it is not"
    );
}

#[tokio::test]
async fn a_bad_summary_filter_names_its_position() {
    let server = TestServer::start();
    let error = server
        .client(None)
        .await
        .analytics()
        .summarize_funding(SummarizeFundingRequest {
            filter: "year >= 2015 AND".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&error), "INVALID_FILTER");
    let details = error.get_error_details();
    let violation = &details.bad_request().unwrap().field_violations[0];
    assert_eq!(violation.field, "filter");
    assert!(
        violation.description.contains("position 17"),
        "{}",
        violation.description
    );
}

/// Every funding group says what it rests on: its least certain status and the part of its
/// amount backed by each status, adding up to the amount; funding groups by data status too.
#[tokio::test]
async fn funding_groups_carry_their_least_certain_status_and_coverage() {
    let server = TestServer::start_with_tokens(&[]);
    let client = server.client(Some(WRITE_TOKEN)).await;
    // An estimated commitment of 12.5 million yuan to education in 2023, beside the demo's
    // synthetic projects.
    client
        .projects()
        .create_project(common::create_request("estimated-school", ""))
        .await
        .unwrap();
    let summarize = |start_year: i32, group_by: Vec<FundingDimension>| {
        let mut analytics = client.analytics();
        async move {
            analytics
                .summarize_funding(SummarizeFundingRequest {
                    filter: "field = EDUCATION".into(),
                    group_by: group_by.into_iter().map(Into::into).collect(),
                    funding_types: vec![FundingType::Commitment.into()],
                    start_year,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
        }
    };
    let estimated = Decimal::new(12_500_000, 0);

    let only_2023 = summarize(2023, vec![FundingDimension::Field]).await;
    let group = &only_2023.groups[0];
    assert_eq!(group.status(), DataStatus::Estimated);
    assert_eq!(group.coverage.len(), 1, "{group:?}");
    assert_eq!(group.coverage[0].status(), DataStatus::Estimated);
    assert_eq!(group.coverage[0].value, "12500000");
    assert_eq!(group.coverage[0].share, "1");

    let all_years = summarize(0, vec![FundingDimension::Field]).await;
    let group = &all_years.groups[0];
    assert_eq!(
        group.status(),
        DataStatus::Synthetic,
        "the least certain input"
    );
    let statuses: Vec<DataStatus> = group.coverage.iter().map(|c| c.status()).collect();
    assert_eq!(statuses, [DataStatus::Estimated, DataStatus::Synthetic]);
    let parts: Decimal = group
        .coverage
        .iter()
        .map(|c| c.value.parse::<Decimal>().unwrap())
        .sum();
    assert_eq!(parts, amount(&group.amount), "the parts add up exactly");
    assert_eq!(
        group.coverage[0].value.parse::<Decimal>().unwrap(),
        estimated
    );
    let lines: i64 = group.coverage.iter().map(|c| c.count).sum();
    assert_eq!(lines, group.line_count);
    assert_eq!(all_years.total.as_ref().unwrap().coverage, group.coverage);

    let by_status = summarize(0, vec![FundingDimension::DataStatus]).await;
    let estimated_group = by_status
        .groups
        .iter()
        .find(|g| g.keys[0].value == "DATA_STATUS_ESTIMATED")
        .expect("a group of estimated funding");
    assert_eq!(amount(&estimated_group.amount), estimated);
    assert_eq!(estimated_group.keys[0].display_name, "Estimated");
    assert_eq!(estimated_group.status(), DataStatus::Estimated);
}

/// Figures a source states together are checked against each other: the demo's doubling
/// against its growth rate, its two currencies against the implied rate, and a part against
/// a share of a whole written through the API.
#[tokio::test]
async fn related_figures_of_one_source_are_checked_against_each_other() {
    let server = TestServer::start_with_tokens(&[]);
    let check = |filter: &str, tolerance: &str| CheckConsistencyRequest {
        filter: filter.into(),
        about_tolerance_percent: tolerance.into(),
        ..Default::default()
    };
    let mut analytics = server.client(None).await.analytics();
    let demo = analytics
        .check_consistency(check("", ""))
        .await
        .unwrap()
        .into_inner()
        .checks;
    let summary: Vec<(&str, &str, bool, bool)> = demo
        .iter()
        .map(|c| {
            (
                c.checked.as_ref().unwrap().name.as_str(),
                c.implied_value.as_str(),
                c.consistent,
                c.independent,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "observations/assistance-funds-usd-2013-2022",
                "23.699999",
                true,
                false
            ),
            (
                "observations/gdp-multiple-2012-2022",
                "1.894838",
                false,
                true
            ),
        ]
    );
    let (currencies, doubling) = (&demo[0], &demo[1]);
    assert!(currencies.explanation.starts_with("not independent"));
    let inputs: Vec<&str> = currencies.inputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        inputs,
        [
            "observations/assistance-funds-2013-2022",
            "observations/cny-per-usd-implied-2013-2022"
        ]
    );
    assert_eq!(doubling.difference_percent, "-5.26");
    assert!(
        doubling.arithmetic.contains("(1 + 0.066)^10 = 1.894838")
            && doubling.arithmetic.contains("needs 7.18 % a year")
            && doubling.arithmetic.contains("within 5 % (ABOUT)"),
        "{}",
        doubling.arithmetic
    );
    assert!(
        doubling.explanation.contains("comparable prices")
            && doubling.explanation.contains("0.54 % a year"),
        "{}",
        doubling.explanation
    );
    assert_eq!(
        doubling.inputs[0].name,
        "observations/gdp-average-growth-2013-2022"
    );

    // A part of the whole written through the API: 25 % of 10 billion is 2.5 billion, stated
    // as "about 2,600 million".
    let admin = server.client(Some(ADMIN_TOKEN)).await;
    let new_indicator =
        |id: &str, unit: &str, multiplier: i32, relation: Option<(RelationKind, &str)>| {
            CreateIndicatorRequest {
                indicator: Some(Indicator {
                    code: id.to_uppercase(),
                    display_name: id.into(),
                    unit: unit.into(),
                    unit_multiplier: multiplier,
                    frequency: Frequency::MultiYear.into(),
                    measure_kind: MeasureKind::Flow.into(),
                    relation: relation.map(|(kind, of)| IndicatorRelation {
                        kind: kind.into(),
                        of: format!("indicators/{of}"),
                    }),
                    ..Default::default()
                }),
                indicator_id: id.into(),
                request_id: String::new(),
                reason: String::new(),
            }
        };
    let refused = admin
        .indicators()
        .create_indicator(new_indicator(
            "water-funds",
            "CNY",
            6,
            Some((RelationKind::Part, "assistance-funds")),
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    let details = refused.get_error_details();
    let violation = &details.bad_request().unwrap().field_violations[0];
    assert_eq!(violation.field, "indicator.relation.of");
    assert!(violation.description.contains("has no SHARE relation"));
    for request in [
        new_indicator(
            "water-share",
            "percent",
            0,
            Some((RelationKind::Share, "assistance-funds")),
        ),
        new_indicator(
            "water-funds",
            "CNY",
            6,
            Some((RelationKind::Part, "water-share")),
        ),
    ] {
        admin.indicators().create_indicator(request).await.unwrap();
    }
    let stated = |id: &str, indicator: &str, value: &str, qualifier: Qualifier| Observation {
        name: format!("observations/{id}"),
        indicator: format!("indicators/{indicator}"),
        area: "areas/kashgar".into(),
        period: "2013/2022".into(),
        value: value.into(),
        qualifier: qualifier.into(),
        status: DataStatus::Reported.into(),
        reading: Reading::Printed.into(),
        provenance: Some(Provenance {
            source_title: "Kashgar water report (test)".into(),
            quoted_passage:
                "Of 10 billion yuan, 25 percent, about 2,600 million yuan, went to water.".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    upsert_observations(
        &server,
        vec![
            stated("kashgar-funds", "assistance-funds", "10", Qualifier::Exact),
            stated("kashgar-water-share", "water-share", "25", Qualifier::Exact),
            stated(
                "kashgar-water-funds",
                "water-funds",
                "2600",
                Qualifier::About,
            ),
        ],
    )
    .await;
    let part = |tolerance: &str| check(r#"indicator = "indicators/water-funds""#, tolerance);
    let lenient = analytics
        .check_consistency(part(""))
        .await
        .unwrap()
        .into_inner();
    let [water] = &lenient.checks[..] else {
        panic!("{lenient:?}")
    };
    assert_eq!(water.relation(), RelationKind::Part);
    assert_eq!(
        (
            water.implied_value.as_str(),
            water.difference_percent.as_str()
        ),
        ("2500", "-3.85")
    );
    assert!(water.consistent && water.independent);
    assert!(
        water
            .arithmetic
            .contains("25 % of 10 x 10^9 CNY = 2500 x 10^6"),
        "{}",
        water.arithmetic
    );
    let strict = analytics
        .check_consistency(part("3"))
        .await
        .unwrap()
        .into_inner();
    assert!(!strict.checks[0].consistent);

    for (request, field) in [
        (check("", "-1"), "about_tolerance_percent"),
        (check("colour = 1", ""), "filter"),
    ] {
        let error = analytics.check_consistency(request).await.unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument);
        let details = error.get_error_details();
        assert_eq!(
            details.bad_request().unwrap().field_violations[0].field,
            field
        );
    }
}

/// Each funding line converts at its own year's rate, from the series the caller names; every
/// rate used is listed; a reconciliation through a rate computed from the figure it checks
/// says it is not independent.
#[tokio::test]
async fn each_year_converts_at_its_own_rate_from_the_series_named() {
    let server = TestServer::start_with_tokens(&[]);
    create_series(
        &server,
        "cny-per-usd-test",
        "CNY per USD",
        SeriesRole::ExchangeRate,
    )
    .await;
    // 6.0 in 2013, 6.1 in 2014, ... 6.9 in 2022: made up, so that each year differs.
    let rates: Vec<Observation> = (0..10)
        .map(|i| Observation {
            name: format!("observations/cny-per-usd-test-{}", 2013 + i),
            indicator: "indicators/cny-per-usd-test".into(),
            area: "areas/china".into(),
            period: (2013 + i).to_string(),
            value: format!("6.{i}"),
            qualifier: Qualifier::Exact.into(),
            status: DataStatus::Estimated.into(),
            provenance: Some(Provenance {
                source_title: "Test rates, not published ones".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    upsert_observations(&server, rates).await;

    let mut analytics = server.client(None).await.analytics();
    let by_year = |currency: &str, series: &str, end_year: i32| SummarizeFundingRequest {
        group_by: vec![FundingDimension::Year.into()],
        currency_code: currency.into(),
        exchange_rate_series: series.into(),
        start_year: 2013,
        end_year,
        ..Default::default()
    };
    let yuan = analytics
        .summarize_funding(by_year("", "", 2014))
        .await
        .unwrap()
        .into_inner();
    let dollars = analytics
        .summarize_funding(by_year("USD", "indicators/cny-per-usd-test", 2014))
        .await
        .unwrap()
        .into_inner();
    // A line converts at the rate of the year its money moved (its value date, else its
    // funding year): each year's own observation, at its own factor.
    assert!(dollars.conversions.len() >= 2, "{:?}", dollars.conversions);
    for conversion in &dollars.conversions {
        let tenths = conversion.year - 2013;
        assert_eq!(
            conversion.observation,
            format!("observations/cny-per-usd-test-{}", conversion.year)
        );
        let factor: Decimal = conversion.factor.parse().unwrap();
        let expected = Decimal::ONE / format!("6.{tenths}").parse::<Decimal>().unwrap();
        assert!(
            (factor - expected).abs() < Decimal::new(1, 12),
            "{conversion:?}"
        );
    }
    let (in_yuan, in_dollars) = (
        amount(&yuan.total.unwrap().amount),
        amount(&dollars.total.unwrap().amount),
    );
    let highest_rate = Decimal::new(60 + dollars.conversions.len() as i64 - 1, 1);
    assert!(
        in_dollars <= in_yuan / Decimal::from(6) && in_dollars >= in_yuan / highest_rate,
        "{in_dollars} USD for {in_yuan} CNY"
    );

    for (series, field, words) in [
        (
            "indicators/nope",
            "exchange_rate_series",
            "not an indicator of the record",
        ),
        (
            "indicators/gdp",
            "exchange_rate_series",
            "series_role EXCHANGE_RATE",
        ),
        ("Bad Name", "exchange_rate_series", ""),
    ] {
        let error = analytics
            .summarize_funding(by_year("USD", series, 2014))
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument, "{error:?}");
        let details = error.get_error_details();
        let violation = &details.bad_request().unwrap().field_violations[0];
        assert_eq!(violation.field, field);
        assert!(violation.description.contains(words), "{violation:?}");
    }
    let other_currency = analytics
        .summarize_funding(by_year("EUR", "indicators/cny-per-usd-test", 2014))
        .await
        .unwrap_err();
    assert_eq!(reason(&other_currency), "MISSING_SERIES");
    assert!(
        other_currency.message().contains(
            "the exchange-rate series indicators/cny-per-usd-test does not convert CNY to EUR"
        ),
        "{other_currency:?}"
    );

    // The demo's rate is computed from the very figures in two currencies: reconciling the
    // dollar figure through it is circular, and says so; through the yearly series it is not.
    let usd = r#"indicator = "indicators/assistance-funds-usd""#;
    let reconcile = |series: &str| ReconcileReportedFiguresRequest {
        filter: usd.into(),
        exchange_rate_series: series.into(),
        ..Default::default()
    };
    let circular = analytics
        .reconcile_reported_figures(reconcile(""))
        .await
        .unwrap()
        .into_inner();
    assert!(!circular.reconciliations[0].independent);
    let yearly = analytics
        .reconcile_reported_figures(reconcile("indicators/cny-per-usd-test"))
        .await
        .unwrap()
        .into_inner();
    assert!(yearly.reconciliations[0].independent);
    assert_eq!(
        yearly.conversions.len(),
        10,
        "one rate a year, 2013 to 2022"
    );
    let yuan_figure = analytics
        .reconcile_reported_figures(ReconcileReportedFiguresRequest {
            filter: r#"indicator = "indicators/assistance-funds""#.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        yuan_figure.reconciliations[0].independent,
        "yuan lines need no rate"
    );
}

/// Two sources stating one figure both stay in the record; a series, the latest values, a
/// ranking and a roll-up choose between them as the caller says, and say which and why.
#[tokio::test]
async fn competing_figures_are_kept_and_chosen_as_the_caller_says() {
    let server = TestServer::start_with_tokens(&[]);
    const OTHER: &str = "Test communique, not a real one";
    server
        .client(Some(WRITE_TOKEN))
        .await
        .observations()
        .create_observation(CreateObservationRequest {
            observation: Some(Observation {
                indicator: "indicators/gdp".into(),
                area: "areas/xinjiang".into(),
                period: "2022".into(),
                value: "1.77".into(),
                qualifier: Qualifier::Exact.into(),
                status: DataStatus::Estimated.into(),
                provenance: Some(Provenance {
                    source_title: OTHER.into(),
                    publish_date: Some(pairing_aid_client::pb::google::r#type::Date {
                        year: 2023,
                        month: 3,
                        day: 28,
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            observation_id: "gdp-xinjiang-2022-communique".into(),
            request_id: String::new(),
            reason: String::new(),
        })
        .await
        .unwrap();
    let (article, other) = (
        "observations/gdp-xinjiang-2022",
        "observations/gdp-xinjiang-2022-communique",
    );
    let mut analytics = server.client(None).await.analytics();
    let series = |choice: Option<ObservationChoice>| GetIndicatorSeriesRequest {
        indicator: "indicators/gdp".into(),
        areas: vec!["areas/xinjiang".into()],
        choice,
        ..Default::default()
    };
    let preferring = |source: &str| {
        Some(ObservationChoice {
            preferred_sources: vec![source.into()],
            rule: 0,
        })
    };
    let last_written = Some(ObservationChoice {
        preferred_sources: vec![],
        rule: ObservationRule::LastWritten.into(),
    });
    for (choice, chosen, passed_over, reason) in [
        (None, article, other, "published latest (2023-09-22)"),
        (preferring(OTHER), other, article, "preferred source"),
        (
            preferring("xinhua"),
            article,
            other,
            "preferred source \"xinhua\"",
        ),
        (last_written.clone(), other, article, "written last"),
    ] {
        let answer = analytics
            .get_indicator_series(series(choice.clone()))
            .await
            .unwrap()
            .into_inner();
        let xinjiang = &answer.series[0];
        let names: Vec<&str> = xinjiang
            .observations
            .iter()
            .map(|o| o.name.as_str())
            .collect();
        assert_eq!(names, [chosen], "{choice:?}");
        let [competing] = &xinjiang.competing[..] else {
            panic!("{:?}", xinjiang.competing)
        };
        assert_eq!(
            (competing.period.as_str(), competing.chosen.as_str()),
            ("2022", chosen)
        );
        assert_eq!(competing.passed_over, [passed_over]);
        assert!(competing.reason.starts_with(reason), "{competing:?}");

        let latest = analytics
            .get_latest_observations(GetLatestObservationsRequest {
                indicator: "indicators/gdp".into(),
                choice: choice.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(latest.observations[0].name, chosen);
        assert_eq!(latest.competing[0].passed_over, [passed_over]);
        let ranked = analytics
            .rank_areas(RankAreasRequest {
                indicator: "indicators/gdp".into(),
                period: "2022".into(),
                choice: choice.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(ranked.observations[0].name, chosen);
        assert_eq!(ranked.competing[0].chosen, chosen);
        let rolled = analytics
            .roll_up_indicator(RollUpIndicatorRequest {
                indicator: "indicators/gdp".into(),
                period: "2022".into(),
                level: AreaLevel::Country.into(),
                choice,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(rolled.values[0].inputs, [chosen]);
    }
    // Both stay in the record.
    let listed = server
        .client(None)
        .await
        .observations()
        .list_observations(ListObservationsRequest {
            filter: r#"indicator = "indicators/gdp" AND period = "2022""#.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.total_size, 2);

    for (choice, field) in [
        (
            ObservationChoice {
                preferred_sources: vec![],
                rule: 9,
            },
            "choice.rule",
        ),
        (
            ObservationChoice {
                preferred_sources: vec!["Xinhua".into(), " ".into()],
                rule: 0,
            },
            "choice.preferred_sources[1]",
        ),
    ] {
        let error = analytics
            .get_indicator_series(series(Some(choice)))
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument);
        let details = error.get_error_details();
        assert_eq!(
            details.bad_request().unwrap().field_violations[0].field,
            field
        );
    }
}
