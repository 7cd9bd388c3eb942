//! How each resource prints: the columns of a table or CSV row, and a JSON object.

use pairing_aid_client::v1;

use crate::enums::ShortName;
use crate::output::{Cell, Printable};
use crate::protojson::Message;

/// A resource printed as named columns, or whole in protobuf JSON.
pub trait Row: Printable {
    /// Column names, in order.
    fn columns() -> &'static [&'static str];
}

/// An amount cell: grouped in tables, exact elsewhere; empty if absent.
pub fn money(money: &Option<pairing_aid_client::pb::google::r#type::Money>) -> Cell {
    Cell::Money(money.clone())
}

/// Implements [`Row`] and [`Printable`] from `column => cell` pairs, each column named beside
/// its value; `$it` stands for the resource in the cells. JSON and YAML print the whole
/// resource in protobuf JSON.
macro_rules! row {
    ($type:ty, |$it:ident| { $($column:literal => $cell:expr),* $(,)? }) => {
        impl Row for $type {
            fn columns() -> &'static [&'static str] {
                &[$($column),*]
            }
        }

        impl Printable for $type {
            fn cells(&self) -> Vec<Cell> {
                let $it = self;
                vec![$(Cell::from($cell)),*]
            }

            fn value(&self, _columns: &[&str]) -> serde_json::Value {
                Message::to_json(self)
            }
        }
    };
}

row!(v1::Party, |party| {
    "name" => party.name.clone(),
    "kind" => party.kind().short(),
    "display_name" => party.display_name.clone(),
    "home_area" => party.home_area.clone(),
});

row!(v1::Area, |area| {
    "name" => area.name.clone(),
    "level" => area.level().short(),
    "display_name" => area.display_name.clone(),
    "parent" => area.parent.clone(),
});

row!(v1::Pairing, |pairing| {
    "name" => pairing.name.clone(),
    "party" => pairing.party.clone(),
    "area" => pairing.area.clone(),
    "start_year" => pairing.start_year.to_string(),
    "end_year" => pairing.end_year.map(|y| y.to_string()).unwrap_or_default(),
    "status" => pairing.status().short(),
});

row!(v1::Project, |project| {
    "name" => project.name.clone(),
    "title" => project.title.clone(),
    "party" => project.party.clone(),
    "areas" => project.recipients.iter().map(|r| r.area.clone()).collect::<Vec<_>>().join(" "),
    "field" => project.field().short(),
    "livelihood" => project.livelihood.to_string(),
    "status" => project.status().short(),
    "funding_lines" => project.funding_lines.len().to_string(),
    "data_status" => project.data_status().short(),
});

row!(v1::Indicator, |indicator| {
    "name" => indicator.name.clone(),
    "code" => indicator.code.clone(),
    "display_name" => indicator.display_name.clone(),
    "unit" => indicator.unit.clone(),
    "unit_multiplier" => indicator.unit_multiplier.to_string(),
    "frequency" => indicator.frequency().short(),
    "summable" => indicator.summable.to_string(),
});

row!(v1::Observation, |observation| {
    "name" => observation.name.clone(),
    "indicator" => observation.indicator.clone(),
    "area" => observation.area.clone(),
    "period" => observation.period.clone(),
    "value" => observation.value.clone(),
    "qualifier" => observation.qualifier().short(),
    "status" => observation.status().short(),
    "reading" => observation.reading().short(),
    "source" => observation.provenance.as_ref().map(|p| p.source_title.clone()).unwrap_or_default(),
});

row!(v1::Change, |change| {
    "revision" => change.revision.to_string(),
    "kind" => change.kind().short(),
    "name" => change.name.clone(),
    "subject" => change.subject.clone(),
});

row!(v1::ResourceRevision, |revision| {
    "revision" => revision.revision.to_string(),
    "commit_time" => revision.commit_time.map(|t| t.to_string()).unwrap_or_default(),
    "subject" => revision.subject.clone(),
    "kind" => revision.kind().short(),
    "changed_fields" => if revision.earlier_revisions_dropped {
        "(earlier revisions dropped)".to_owned()
    } else {
        revision.changed_fields.join(",")
    },
    "reason" => revision.reason.clone(),
    "request_id" => revision.request_id.clone(),
});
