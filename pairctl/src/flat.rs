//! The files `import` reads. A line of NDJSON is a record in protobuf JSON, as `export`
//! writes it (`{"project": {...}}`, every kind and field), or a flat record. A flat record is
//! one object per NDJSON line or CSV row with a `kind` of `project` or `observation`, for
//! spreadsheets and scripts; it has no dates or outputs. Lists fit in one column:
//! `areas` is `areas/a=60;areas/b=40` (share percent, default 100) and `funding` is
//! `commitment:2016:1250000:CNY;expenditure:2017:500000.50:CNY`.

use pairing_aid_client::pb::google::r#type::Money;
use pairing_aid_client::v1;
use serde::Deserialize;
use serde_json::Value;

use crate::enums::ShortName;
use crate::protojson::Message;

/// One record of an import or export file.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FlatRecord {
    Project(FlatProject),
    Observation(FlatObservation),
}

/// A project in one row.
#[derive(Clone, Debug, PartialEq, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct FlatObservation {
    pub name: String,
    pub indicator: String,
    pub area: String,
    pub period: String,
    pub value: String,
    pub qualifier: String,
    pub status: String,
    /// `printed` or `interpreted`; required of reported figures, empty for others.
    #[serde(default)]
    pub reading: String,
    pub source_title: String,
    #[serde(default)]
    pub publisher: String,
    #[serde(default)]
    pub quoted_passage: String,
    #[serde(default)]
    pub note: String,
}

/// The value of an enum a cell names by its short name, as an API field holds it.
fn enum_value<E: ShortName>(field: &str, text: &str) -> Result<i32, String> {
    E::from_short(text)
        .map(Into::into)
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

/// The provenance the source cells of a flat record give.
fn provenance(
    source_title: String,
    publisher: String,
    quoted_passage: String,
    note: String,
) -> Option<v1::Provenance> {
    Some(v1::Provenance {
        source_title,
        publisher,
        quoted_passage,
        note,
        ..Default::default()
    })
}

impl FlatRecord {
    /// The record as the API takes it, or what is wrong with the row.
    pub fn into_record(self) -> Result<v1::Record, String> {
        use v1::record::Resource;
        let resource = match self {
            FlatRecord::Observation(o) => Resource::Observation(v1::Observation {
                qualifier: enum_value::<v1::Qualifier>("qualifier", &o.qualifier)?,
                status: enum_value::<v1::DataStatus>("status", &o.status)?,
                reading: if o.reading.trim().is_empty() {
                    0
                } else {
                    enum_value::<v1::Reading>("reading", &o.reading)?
                },
                provenance: provenance(o.source_title, o.publisher, o.quoted_passage, o.note),
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
                            r#type: enum_value::<v1::FundingType>("funding", kind)?,
                            year: year
                                .parse()
                                .map_err(|_| format!("funding: {year:?} is not a year"))?,
                            amount: Some(money(amount, currency)?),
                            ..Default::default()
                        })
                    })
                    .collect::<Result<_, String>>()?;
                Resource::Project(v1::Project {
                    field: enum_value::<v1::SupportField>("field", &p.field)?,
                    status: enum_value::<v1::ProjectStatus>("status", &p.status)?,
                    data_status: enum_value::<v1::DataStatus>("data_status", &p.data_status)?,
                    provenance: provenance(p.source_title, p.publisher, String::new(), p.note),
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
}

/// A line of an import file: its number and the record, or why the line could not be read.
pub type Line = (usize, Result<v1::Record, String>);

/// Whether a JSON object is a flat record rather than a record in protobuf JSON.
pub fn is_flat(value: &Value) -> bool {
    // A party in protobuf JSON has a `kind` too, but with an enum value of its own.
    value
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|kind| !kind.starts_with("PARTY_KIND_"))
}

/// The record a flat JSON object describes, or what is wrong with it.
pub fn from_value(value: Value) -> Result<v1::Record, String> {
    serde_json::from_value::<FlatRecord>(value)
        .map_err(|e| e.to_string())
        .and_then(FlatRecord::into_record)
}

/// One NDJSON line: a flat record, or a record in protobuf JSON (`{"area": {...}}`), as
/// `export` writes them.
fn parse_json_line(line: &str) -> Result<v1::Record, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    if is_flat(&value) {
        from_value(value)
    } else {
        v1::Record::from_json(value)
    }
}

/// The records of `reader`, parsed as they are read: CSV rows of flat records, or NDJSON lines
/// of flat records or protobuf JSON records.
pub fn lines(
    reader: Box<dyn std::io::BufRead + Send>,
    csv_format: bool,
) -> Result<Box<dyn Iterator<Item = Line> + Send>, String> {
    if csv_format {
        let mut reader = csv::Reader::from_reader(reader);
        let headers = reader.headers().map_err(|e| e.to_string())?.clone();
        let kind = headers
            .iter()
            .position(|h| h == "kind")
            .ok_or("the CSV header has no `kind` column")?;
        return Ok(Box::new(reader.into_records().enumerate().map(
            move |(i, row)| {
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
            },
        )));
    }
    Ok(Box::new(
        std::io::BufRead::lines(reader)
            .enumerate()
            .filter(|(_, line)| line.as_ref().is_ok_and(|l| !l.trim().is_empty()) || line.is_err())
            .map(|(i, line)| {
                let record = line
                    .map_err(|e| e.to_string())
                    .and_then(|line| parse_json_line(&line));
                (i + 1, record)
            }),
    ))
}

/// The whole text of `path`, or of standard input for `-`.
pub fn read_text(path: &std::path::Path) -> Result<String, String> {
    if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    }
    .map_err(|e| format!("{}: {e}", path.display()))
}
