//! How each resource prints: the columns of a table or CSV row, and a JSON object.

use pairing_aid_client::v1;

/// A resource printed as named columns.
pub trait Row {
    /// Column names, in order.
    fn columns() -> &'static [&'static str];
    /// The cells, in column order.
    fn cells(&self) -> Vec<String>;
}

/// The short, lower-case name of an enum value: `SUPPORT_FIELD_HEALTH_CARE` -> `health_care`.
pub fn short(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_lowercase()
}

pub fn money(money: &Option<pairing_aid_client::pb::google::r#type::Money>) -> String {
    match money {
        Some(m) if m.nanos == 0 => format!("{} {}", m.units, m.currency_code),
        Some(m) => {
            let fraction = format!("{:09}", m.nanos.unsigned_abs());
            format!(
                "{}.{} {}",
                m.units,
                fraction.trim_end_matches('0'),
                m.currency_code
            )
        }
        None => String::new(),
    }
}

impl Row for v1::Party {
    fn columns() -> &'static [&'static str] {
        &["name", "kind", "display_name", "home_area"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            short(self.kind().as_str_name(), "PARTY_KIND_"),
            self.display_name.clone(),
            self.home_area.clone(),
        ]
    }
}

impl Row for v1::Area {
    fn columns() -> &'static [&'static str] {
        &["name", "level", "display_name", "parent"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            short(self.level().as_str_name(), "AREA_LEVEL_"),
            self.display_name.clone(),
            self.parent.clone(),
        ]
    }
}

impl Row for v1::Pairing {
    fn columns() -> &'static [&'static str] {
        &["name", "party", "area", "start_year", "end_year", "status"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.party.clone(),
            self.area.clone(),
            self.start_year.to_string(),
            self.end_year.map(|y| y.to_string()).unwrap_or_default(),
            short(self.status().as_str_name(), "DATA_STATUS_"),
        ]
    }
}

impl Row for v1::Project {
    fn columns() -> &'static [&'static str] {
        &[
            "name",
            "title",
            "party",
            "areas",
            "field",
            "livelihood",
            "status",
            "funding_lines",
            "data_status",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.title.clone(),
            self.party.clone(),
            self.recipients
                .iter()
                .map(|r| r.area.clone())
                .collect::<Vec<_>>()
                .join(" "),
            short(self.field().as_str_name(), "SUPPORT_FIELD_"),
            self.livelihood.to_string(),
            short(self.status().as_str_name(), "PROJECT_STATUS_"),
            self.funding_lines.len().to_string(),
            short(self.data_status().as_str_name(), "DATA_STATUS_"),
        ]
    }
}

impl Row for v1::Indicator {
    fn columns() -> &'static [&'static str] {
        &[
            "name",
            "code",
            "display_name",
            "unit",
            "unit_multiplier",
            "frequency",
            "summable",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.code.clone(),
            self.display_name.clone(),
            self.unit.clone(),
            self.unit_multiplier.to_string(),
            short(self.frequency().as_str_name(), "FREQUENCY_"),
            self.summable.to_string(),
        ]
    }
}

impl Row for v1::Observation {
    fn columns() -> &'static [&'static str] {
        &[
            "name",
            "indicator",
            "area",
            "period",
            "value",
            "qualifier",
            "status",
            "source",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.indicator.clone(),
            self.area.clone(),
            self.period.clone(),
            self.value.clone(),
            short(self.qualifier().as_str_name(), "QUALIFIER_"),
            short(self.status().as_str_name(), "DATA_STATUS_"),
            self.provenance
                .as_ref()
                .map(|p| p.source_title.clone())
                .unwrap_or_default(),
        ]
    }
}
