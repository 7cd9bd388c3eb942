//! Which of several observations of one indicator, area and period a series, a latest value,
//! a ranking or a roll-up uses: two sources may state the same figure, or one may revise it.
//! Every observation stays in the record; the choice is the caller's, and is said.

use std::cmp::Ordering;

use chrono::NaiveDate;

use super::{Provenance, labelled};

labelled! {
    /// How figures that compete are told apart once preferred sources have had their say.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub enum ChoiceRule {
        /// The one published latest (its provenance's date); among equals, the last written.
        #[default]
        LatestPublication = "LATEST_PUBLICATION",
        /// The one written last, whatever its publication.
        LastWritten = "LAST_WRITTEN",
    }
}

/// How to choose among competing observations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FigureChoice {
    /// Sources preferred, most preferred first, each matching a provenance's source title or
    /// publisher, ignoring case.
    pub preferred_sources: Vec<String>,
    pub rule: ChoiceRule,
}

/// A competing figure as the choice sees it.
pub struct Candidate<'a> {
    pub provenance: &'a Provenance,
    /// Order of writing: later is greater.
    pub written: usize,
}

impl FigureChoice {
    /// The place of a provenance's source among the preferred ones; unlisted sources come last.
    fn preference(&self, provenance: &Provenance) -> usize {
        let matches = |wanted: &String| {
            wanted.eq_ignore_ascii_case(&provenance.source_title)
                || (!provenance.publisher.is_empty()
                    && wanted.eq_ignore_ascii_case(&provenance.publisher))
        };
        self.preferred_sources
            .iter()
            .position(matches)
            .unwrap_or(self.preferred_sources.len())
    }

    /// Whether `a` is chosen over `b`: `Greater` when it is.
    pub fn compare(&self, a: &Candidate<'_>, b: &Candidate<'_>) -> Ordering {
        let published = |c: &Candidate<'_>| -> Option<NaiveDate> { c.provenance.publish_date };
        self.preference(b.provenance)
            .cmp(&self.preference(a.provenance))
            .then_with(|| match self.rule {
                ChoiceRule::LatestPublication => published(a).cmp(&published(b)),
                ChoiceRule::LastWritten => Ordering::Equal,
            })
            .then_with(|| a.written.cmp(&b.written))
    }

    /// Why `chosen` was chosen over the others, in words.
    pub fn reason(&self, chosen: &Candidate<'_>, others: &[Candidate<'_>]) -> String {
        let place = self.preference(chosen.provenance);
        if place < self.preferred_sources.len()
            && others.iter().any(|o| self.preference(o.provenance) > place)
        {
            return format!("preferred source \"{}\"", self.preferred_sources[place]);
        }
        let later_publication = self.rule == ChoiceRule::LatestPublication
            && others
                .iter()
                .any(|o| o.provenance.publish_date < chosen.provenance.publish_date);
        match (later_publication, chosen.provenance.publish_date) {
            (true, Some(date)) => format!("published latest ({date})"),
            _ => "written last".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn provenance(title: &str, date: Option<(i32, u32, u32)>) -> Arc<Provenance> {
        Arc::new(Provenance {
            source_title: title.into(),
            publisher: "Publisher".into(),
            publish_date: date.and_then(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d)),
            ..Provenance::default()
        })
    }

    #[test]
    fn preferred_sources_then_the_rule_then_the_last_written() {
        let early = provenance("Yearbook", Some((2021, 5, 1)));
        let late = provenance("Bulletin", Some((2023, 9, 22)));
        let undated = provenance("Notes", None);
        let candidates = [
            Candidate {
                provenance: &early,
                written: 2,
            },
            Candidate {
                provenance: &late,
                written: 0,
            },
            Candidate {
                provenance: &undated,
                written: 1,
            },
        ];
        let best = |choice: &FigureChoice| {
            candidates
                .iter()
                .max_by(|a, b| choice.compare(a, b))
                .unwrap()
                .provenance
                .source_title
                .clone()
        };
        assert_eq!(best(&FigureChoice::default()), "Bulletin");
        let last = FigureChoice {
            rule: ChoiceRule::LastWritten,
            ..FigureChoice::default()
        };
        assert_eq!(best(&last), "Yearbook");
        let preferred = FigureChoice {
            preferred_sources: vec!["notes".into()],
            ..FigureChoice::default()
        };
        assert_eq!(best(&preferred), "Notes");
        assert_eq!(
            preferred.reason(&candidates[2], &candidates[..2]),
            "preferred source \"notes\""
        );
        assert_eq!(
            FigureChoice::default().reason(
                &candidates[1],
                &[Candidate {
                    provenance: &early,
                    written: 2
                }]
            ),
            "published latest (2023-09-22)"
        );
    }
}
