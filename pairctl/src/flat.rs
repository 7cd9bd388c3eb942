//! The flat record format `import` reads and `export` writes: one object per NDJSON line or
//! CSV row, with a `kind` of `project` or `observation`. Lists fit in one column:
//! `areas` is `areas/a=60;areas/b=40` (share percent, default 100) and `funding` is
//! `commitment:2016:1250000:CNY;expenditure:2017:500000.50:CNY`.

use pairing_aid_client::pb::google::r#type::Money;
use pairing_aid_client::v1;
use serde::{Deserialize, Serialize};

use crate::rows::short;

/// One record of an import or export file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FlatRecord {
    Project(FlatProject),
    Observation(FlatObservation),
}

/// A project in one row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlatProject {
    pub name: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub party: String,
    #[serde(default)]
    pub pairing: String,
    pub areas: String,
    pub field: String,
    pub livelihood: bool,
    pub status: String,
    pub data_status: String,
    #[serde(default)]
    pub funding: String,
    pub source_title: String,
    #[serde(default)]
    pub publisher: String,
    #[serde(default)]
    pub note: String,
}

/// An observation in one row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlatObservation {
    pub name: String,
    pub indicator: String,
    pub area: String,
    pub period: String,
    pub value: String,
    pub qualifier: String,
    pub status: String,
    pub source_title: String,
    #[serde(default)]
    pub publisher: String,
    #[serde(default)]
    pub quoted_passage: String,
    #[serde(default)]
    pub note: String,
}

fn enum_value(
    field: &str,
    text: &str,
    prefix: &str,
    parse: fn(&str) -> Option<i32>,
) -> Result<i32, String> {
    parse(&format!("{prefix}{}", text.trim().to_uppercase()))
        .ok_or_else(|| format!("{field}: {text:?} is not a known value"))
}

fn money(text: &str, currency: &str) -> Result<Money, String> {
    let (units, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("funding: {text:?} is not an amount"));
    }
    let units: i64 = units
        .parse()
        .map_err(|_| format!("funding: {text:?} is not an amount"))?;
    let nanos: i32 = format!("{fraction:0<9}").parse().unwrap_or(0);
    Ok(Money {
        currency_code: currency.to_owned(),
        units,
        nanos: if units < 0 { -nanos } else { nanos },
    })
}

impl FlatRecord {
    /// The record as the API takes it, or what is wrong with the row.
    pub fn into_record(self) -> Result<v1::Record, String> {
        use v1::record::Resource;
        let resource = match self {
            FlatRecord::Observation(o) => Resource::Observation(v1::Observation {
                qualifier: enum_value("qualifier", &o.qualifier, "QUALIFIER_", |s| {
                    v1::Qualifier::from_str_name(s).map(Into::into)
                })?,
                status: enum_value("status", &o.status, "DATA_STATUS_", |s| {
                    v1::DataStatus::from_str_name(s).map(Into::into)
                })?,
                provenance: Some(v1::Provenance {
                    source_title: o.source_title,
                    publisher: o.publisher,
                    quoted_passage: o.quoted_passage,
                    note: o.note,
                    ..Default::default()
                }),
                name: o.name,
                indicator: o.indicator,
                area: o.area,
                period: o.period,
                value: o.value,
                ..Default::default()
            }),
            FlatRecord::Project(p) => {
                let recipients = p
                    .areas
                    .split(';')
                    .filter(|a| !a.trim().is_empty())
                    .map(|a| {
                        let (area, share) = a.split_once('=').unwrap_or((a, "100"));
                        v1::RecipientArea {
                            area: area.trim().to_owned(),
                            share_percent: share.trim().to_owned(),
                        }
                    })
                    .collect();
                let funding_lines = p
                    .funding
                    .split(';')
                    .filter(|f| !f.trim().is_empty())
                    .map(|line| {
                        let parts: Vec<&str> = line.trim().split(':').collect();
                        let [kind, year, amount, currency] = parts[..] else {
                            return Err(format!(
                                "funding: {line:?} is not type:year:amount:currency"
                            ));
                        };
                        Ok(v1::FundingLine {
                            r#type: enum_value("funding", kind, "FUNDING_TYPE_", |s| {
                                v1::FundingType::from_str_name(s).map(Into::into)
                            })?,
                            year: year
                                .parse()
                                .map_err(|_| format!("funding: {year:?} is not a year"))?,
                            amount: Some(money(amount, currency)?),
                            ..Default::default()
                        })
                    })
                    .collect::<Result<_, String>>()?;
                Resource::Project(v1::Project {
                    field: enum_value("field", &p.field, "SUPPORT_FIELD_", |s| {
                        v1::SupportField::from_str_name(s).map(Into::into)
                    })?,
                    status: enum_value("status", &p.status, "PROJECT_STATUS_", |s| {
                        v1::ProjectStatus::from_str_name(s).map(Into::into)
                    })?,
                    data_status: enum_value("data_status", &p.data_status, "DATA_STATUS_", |s| {
                        v1::DataStatus::from_str_name(s).map(Into::into)
                    })?,
                    provenance: Some(v1::Provenance {
                        source_title: p.source_title,
                        publisher: p.publisher,
                        note: p.note,
                        ..Default::default()
                    }),
                    name: p.name,
                    title: p.title,
                    description: p.description,
                    party: p.party,
                    pairing: p.pairing,
                    recipients,
                    livelihood: p.livelihood,
                    funding_lines,
                    ..Default::default()
                })
            }
        };
        Ok(v1::Record {
            resource: Some(resource),
        })
    }

    /// The flat form of a project or an observation; `None` for other kinds.
    pub fn from_record(record: &v1::Record) -> Option<FlatRecord> {
        use v1::record::Resource;
        match record.resource.as_ref()? {
            Resource::Observation(o) => {
                let provenance = o.provenance.clone().unwrap_or_default();
                Some(FlatRecord::Observation(FlatObservation {
                    name: o.name.clone(),
                    indicator: o.indicator.clone(),
                    area: o.area.clone(),
                    period: o.period.clone(),
                    value: o.value.clone(),
                    qualifier: short(o.qualifier().as_str_name(), "QUALIFIER_"),
                    status: short(o.status().as_str_name(), "DATA_STATUS_"),
                    source_title: provenance.source_title,
                    publisher: provenance.publisher,
                    quoted_passage: provenance.quoted_passage,
                    note: provenance.note,
                }))
            }
            Resource::Project(p) => {
                let provenance = p.provenance.clone().unwrap_or_default();
                Some(FlatRecord::Project(FlatProject {
                    name: p.name.clone(),
                    title: p.title.clone(),
                    description: p.description.clone(),
                    party: p.party.clone(),
                    pairing: p.pairing.clone(),
                    areas: p
                        .recipients
                        .iter()
                        .map(|r| format!("{}={}", r.area, r.share_percent))
                        .collect::<Vec<_>>()
                        .join(";"),
                    field: short(p.field().as_str_name(), "SUPPORT_FIELD_"),
                    livelihood: p.livelihood,
                    status: short(p.status().as_str_name(), "PROJECT_STATUS_"),
                    data_status: short(p.data_status().as_str_name(), "DATA_STATUS_"),
                    funding: p
                        .funding_lines
                        .iter()
                        .map(|l| {
                            let amount = crate::rows::money(&l.amount);
                            let (amount, currency) =
                                amount.split_once(' ').unwrap_or((&amount, ""));
                            format!(
                                "{}:{}:{amount}:{currency}",
                                short(l.r#type().as_str_name(), "FUNDING_TYPE_"),
                                l.year
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(";"),
                    source_title: provenance.source_title,
                    publisher: provenance.publisher,
                    note: provenance.note,
                }))
            }
            _ => None,
        }
    }
}

/// A line of an import file: its number and the record, or why the line could not be read.
pub type Line = (usize, Result<v1::Record, String>);

/// Reads a file of flat records, line by line.
pub fn read(path: &std::path::Path, csv_format: bool) -> Result<Vec<Line>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if csv_format {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader.headers().map_err(|e| e.to_string())?.clone();
        let kind = headers
            .iter()
            .position(|h| h == "kind")
            .ok_or("the CSV header has no `kind` column")?;
        return Ok(reader
            .records()
            .enumerate()
            .map(|(i, row)| {
                let line = i + 2;
                let record = row.map_err(|e| e.to_string()).and_then(|row| {
                    let parsed = match row.get(kind) {
                        Some("project") => row
                            .deserialize::<FlatProject>(Some(&headers))
                            .map(FlatRecord::Project),
                        Some("observation") => row
                            .deserialize::<FlatObservation>(Some(&headers))
                            .map(FlatRecord::Observation),
                        other => {
                            return Err(format!("kind: {other:?} is not project or observation"));
                        }
                    };
                    parsed
                        .map_err(|e| e.to_string())
                        .and_then(FlatRecord::into_record)
                });
                (line, record)
            })
            .collect());
    }
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            let record = serde_json::from_str::<FlatRecord>(line)
                .map_err(|e| e.to_string())
                .and_then(FlatRecord::into_record);
            (i + 1, record)
        })
        .collect())
}
