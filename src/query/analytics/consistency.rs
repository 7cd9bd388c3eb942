//! Figures one source states together, checked against each other: a level's multiple over a
//! span against the average growth over the same years, an amount in two currencies against
//! an exchange rate, a share of a whole against the part. Indicators say how their values
//! follow from another's (`Relation`); a check computes the figure a relation implies from
//! the others as stated and judges it by the stated figure's qualifier, as reconciliation does.

use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};

use super::error::AnalyticsError;
use super::qualified::{allowance, satisfied};
use crate::domain::{
    Indicator, Observation, Period, PriceBasis, Provenance, RelationKind, ResourceName,
};
use crate::query::interrupt::Interrupt;
use crate::query::listing::picks::Pickable;
use crate::query::listing::{Filter, Listed};
use crate::query::model::ReadModel;

/// One check: the figure a relation implies beside the figure stated.
#[derive(Clone, Debug)]
pub struct ConsistencyCheck {
    /// The checked figure's relation: MULTIPLE, CONVERSION or PART.
    pub relation: RelationKind,
    /// The stated figure checked.
    pub checked: Observation,
    /// The figures the implied value is computed from, as stated.
    pub inputs: Vec<Observation>,
    /// What the inputs imply for the checked figure, in its indicator's unit.
    pub implied: Decimal,
    /// (implied - stated) / stated, in percent; none for a stated zero.
    pub difference_percent: Option<Decimal>,
    /// Whether the implied figure is what the checked figure's qualifier allows.
    pub consistent: bool,
    /// False when one figure of the check was computed from another: agreement is then
    /// by construction and proves nothing.
    pub independent: bool,
    /// The computation, with the numbers used and the tolerance applied.
    pub arithmetic: String,
    /// Why the figures may disagree, where the record suggests a reason; empty otherwise.
    pub explanation: String,
}

/// Decimal places of implied figures.
const PLACES: u32 = 6;

/// Every check the relations allow among the observations `filter` picks as checked figures
/// (observations of indicators with a MULTIPLE, CONVERSION or PART relation) and the figures
/// of the same source, area and period they relate to.
pub fn check_consistency(
    model: &ReadModel,
    filter: &str,
    about_tolerance: Decimal,
    interrupt: &Interrupt,
) -> Result<Vec<ConsistencyCheck>, AnalyticsError> {
    // The caller's filter alone first, so that an error points into the text they sent.
    Filter::parse(filter, Observation::FIELDS)?;
    let context = Context::new(model, about_tolerance);
    let checked_indicators: Vec<&Indicator> = context
        .related
        .iter()
        .copied()
        .filter(|i| {
            i.relation.as_ref().is_some_and(|r| {
                matches!(
                    r.kind,
                    RelationKind::Multiple | RelationKind::Conversion | RelationKind::Part
                )
            })
        })
        .collect();
    if checked_indicators.is_empty() {
        return Ok(Vec::new());
    }
    let of_indicators = checked_indicators
        .iter()
        .map(|i| format!("indicator = {:?}", i.name.as_str()))
        .collect::<Vec<_>>()
        .join(" OR ");
    let combined = if filter.trim().is_empty() {
        of_indicators
    } else {
        format!("({of_indicators}) AND ({filter})")
    };
    let combined = Filter::parse(&combined, Observation::FIELDS)?;
    let picked = Observation::picked(model, &combined, interrupt)?
        .expect("observations are picked from their indexes");
    let mut checks = Vec::new();
    for checked in picked.after(None) {
        interrupt.check()?;
        let Some(indicator) = model.indicators.get(&checked.indicator) else {
            continue;
        };
        let Some(relation) = &indicator.relation else {
            continue;
        };
        match relation.kind {
            RelationKind::Multiple => {
                checks.extend(context.multiple_and_growth(&checked, indicator, &relation.of))
            }
            RelationKind::Conversion => {
                checks.extend(context.conversion_and_rate(&checked, indicator, &relation.of))
            }
            RelationKind::Part => {
                checks.extend(context.part_of_whole(&checked, indicator, &relation.of))
            }
            RelationKind::AverageGrowth | RelationKind::Share => {}
        }
    }
    Ok(checks)
}

/// Whether two figures come from one source: the same document, whatever passage each quotes.
fn same_source(a: &Provenance, b: &Provenance) -> bool {
    a.source_title == b.source_title
        && a.publisher == b.publisher
        && a.publish_date == b.publish_date
        && a.source_uri == b.source_uri
}

/// Whether any of `figures` was computed from another of them.
fn independent(figures: &[&Observation]) -> bool {
    !figures.iter().any(|figure| {
        figures
            .iter()
            .any(|other| figure.derived_from.contains(&other.name))
    })
}

/// A decimal from a float computation, rounded to `PLACES`.
fn from_float(value: f64) -> Decimal {
    Decimal::from_f64(value)
        .unwrap_or_default()
        .round_dp(PLACES)
        .normalize()
}

/// `base` to the power `n`, exactly, then rounded to `PLACES`.
fn power(base: Decimal, n: u32) -> Option<Decimal> {
    (0..n)
        .try_fold(Decimal::ONE, |acc, _| acc.checked_mul(base))
        .map(|p| p.round_dp(PLACES).normalize())
}

/// `10^exponent` as a decimal, for moving a value between unit multipliers.
fn scale(exponent: i32) -> Decimal {
    let magnitude = Decimal::from(10u64.pow(exponent.unsigned_abs().min(18)));
    if exponent >= 0 {
        magnitude
    } else {
        Decimal::ONE / magnitude
    }
}

fn number(value: Decimal) -> String {
    value.normalize().to_string()
}

/// The observations a check may read: those of indicators with a relation and of exchange
/// rates. What a call costs, before it runs.
pub fn consistency_rows(model: &ReadModel) -> usize {
    let context = Context::new(model, Decimal::ZERO);
    context
        .related
        .iter()
        .chain(context.rates.iter().map(|(i, _, _)| i))
        .map(|i| model.observations.count_of(&i.name))
        .sum()
}

struct Context<'m> {
    model: &'m ReadModel,
    about_tolerance: Decimal,
    /// The indicators with a relation: few among many.
    related: Vec<&'m Indicator>,
    /// The exchange-rate indicators, with the currencies of their unit, `(quote, base)`.
    rates: Vec<(&'m Indicator, &'m str, &'m str)>,
}

impl<'m> Context<'m> {
    fn new(model: &'m ReadModel, about_tolerance: Decimal) -> Self {
        let indicators = model.indicators.values();
        Context {
            model,
            about_tolerance,
            related: indicators
                .clone()
                .filter(|i| i.relation.is_some())
                .collect(),
            rates: indicators
                .filter_map(|i| {
                    let (quote, base) = i.exchange_currencies()?;
                    Some((i, quote, base))
                })
                .collect(),
        }
    }

    /// Observations of `indicator` from `checked`'s source and for its area, by `fits`.
    fn companions(
        &self,
        indicator: &ResourceName,
        checked: &Observation,
        fits: impl Fn(&Observation) -> bool,
    ) -> Vec<Observation> {
        self.model
            .observations
            .all_of_for(indicator, &checked.area)
            .into_iter()
            .filter(|o| same_source(&o.provenance, &checked.provenance) && fits(o))
            .collect()
    }

    /// The check as a whole, once the implied figure and the words are known; `explanation`
    /// says why figures that disagree may do so.
    fn judged(
        &self,
        relation: RelationKind,
        checked: &Observation,
        inputs: Vec<Observation>,
        (implied, arithmetic): (Decimal, String),
        explanation: impl FnOnce() -> String,
    ) -> ConsistencyCheck {
        let stated = checked.value;
        let consistent = satisfied(checked.qualifier, stated, implied, self.about_tolerance);
        let difference_percent = (!stated.is_zero())
            .then(|| ((implied - stated) / stated * Decimal::ONE_HUNDRED).round_dp(2));
        let judged = format!(
            "{arithmetic}; stated {}{}, which allows {}: {}",
            number(stated),
            difference_percent
                .map(|d| format!(" ({} % off)", number(d)))
                .unwrap_or_default(),
            allowance(checked.qualifier, stated, self.about_tolerance),
            if consistent {
                "consistent"
            } else {
                "not consistent"
            },
        );
        let mut figures: Vec<&Observation> = inputs.iter().collect();
        figures.push(checked);
        let independent = independent(&figures);
        let explanation = if !independent {
            "not independent: one of these figures was computed from another (derived_from), \
             so they agree by construction"
                .to_owned()
        } else if consistent {
            String::new()
        } else {
            explanation()
        };
        ConsistencyCheck {
            relation,
            independent,
            checked: checked.clone(),
            implied,
            difference_percent,
            consistent,
            arithmetic: judged,
            explanation,
            inputs,
        }
    }

    /// A level's multiple over `first/last` against average growth over the years
    /// `first + 1 ..= last` (or stated over the same span): (1 + g/100)^(last - first).
    fn multiple_and_growth(
        &self,
        multiple: &Observation,
        multiple_indicator: &Indicator,
        level: &ResourceName,
    ) -> Vec<ConsistencyCheck> {
        let Some((first, last)) = Period::years_of(&multiple.period) else {
            return Vec::new();
        };
        let years = (last - first) as u32;
        if years == 0 {
            return Vec::new();
        }
        let mut checks = Vec::new();
        for growth_indicator in self.related(RelationKind::AverageGrowth, level) {
            let fits = |o: &Observation| {
                Period::years_of(&o.period)
                    .is_some_and(|(f, l)| l == last && (f == first + 1 || f == first))
            };
            for growth in self.companions(&growth_indicator.name, multiple, fits) {
                let rate = growth.value / Decimal::ONE_HUNDRED;
                let Some(implied) = power(Decimal::ONE + rate, years) else {
                    continue;
                };
                let needed = multiple.value.to_f64().map(|m| {
                    from_float((m.powf(1.0 / f64::from(years)) - 1.0) * 100.0).round_dp(2)
                });
                let arithmetic = format!(
                    "{} % a year for {years} years: (1 + {})^{years} = {}{}",
                    number(growth.value),
                    number(rate),
                    number(implied),
                    needed
                        .map(|n| format!(
                            "; a multiple of {} in {years} years needs {} % a year",
                            number(multiple.value),
                            number(n)
                        ))
                        .unwrap_or_default()
                );
                let bases = (multiple_indicator.price_basis, growth_indicator.price_basis);
                checks.push(self.judged(
                    RelationKind::Multiple,
                    multiple,
                    vec![growth],
                    (implied, arithmetic),
                    || price_bases_differ(bases, multiple.value, implied, years),
                ));
            }
        }
        checks
    }

    /// An amount in one currency against the same amount in another and every exchange rate
    /// stated for the same period: the second amount is the first at the rate.
    fn conversion_and_rate(
        &self,
        converted: &Observation,
        converted_indicator: &Indicator,
        original: &ResourceName,
    ) -> Vec<ConsistencyCheck> {
        let Some(original_indicator) = self.model.indicators.get(original) else {
            return Vec::new();
        };
        let (from, to) = (
            original_indicator.unit.as_str(),
            converted_indicator.unit.as_str(),
        );
        let mut checks = Vec::new();
        let same_period = |o: &Observation| o.period == converted.period;
        for amount in self.companions(original, converted, same_period) {
            for (rate, per_from) in self.rates(from, to, &converted.period) {
                // `per_from` is how much of `to` one `from` buys.
                let in_to = amount.value * scale(original_indicator.unit_multiplier) * per_from
                    / scale(converted_indicator.unit_multiplier);
                let implied = in_to.round_dp(PLACES).normalize();
                let arithmetic = format!(
                    "{} x 10^{} {from} at {} {}: {} x 10^{} {to}",
                    number(amount.value),
                    original_indicator.unit_multiplier,
                    number(rate.value),
                    self.model
                        .indicators
                        .get(&rate.indicator)
                        .map_or("", |i| i.unit.as_str()),
                    number(implied),
                    converted_indicator.unit_multiplier,
                );
                checks.push(self.judged(
                    RelationKind::Conversion,
                    converted,
                    vec![amount.clone(), rate],
                    (implied, arithmetic),
                    String::new,
                ));
            }
        }
        checks
    }

    /// Observations of exchange rates between `from` and `to` for `period`, each with how
    /// much of `to` one `from` buys.
    fn rates(&self, from: &str, to: &str, period: &str) -> Vec<(Observation, Decimal)> {
        let mut rates = Vec::new();
        for &(indicator, quote, base) in &self.rates {
            // A unit "CNY per USD" is `quote` for one `base`.
            let direct = match (quote == to && base == from, quote == from && base == to) {
                (true, _) => true,
                (_, true) => false,
                _ => continue,
            };
            for rate in self.model.observations.all_of(&indicator.name) {
                if rate.period != period || rate.value.is_zero() {
                    continue;
                }
                let per_from = if direct {
                    rate.value
                } else {
                    Decimal::ONE / rate.value
                };
                rates.push((rate, per_from));
            }
        }
        rates
    }

    /// A part against share x whole, the share and the whole stated by the same source for
    /// the same area and period.
    fn part_of_whole(
        &self,
        part: &Observation,
        part_indicator: &Indicator,
        share_indicator: &ResourceName,
    ) -> Vec<ConsistencyCheck> {
        let Some(whole_indicator) = self
            .model
            .indicators
            .get(share_indicator)
            .and_then(|s| s.relation.as_ref())
            .and_then(|r| self.model.indicators.get(&r.of))
        else {
            return Vec::new();
        };
        let same_period = |o: &Observation| o.period == part.period;
        let mut checks = Vec::new();
        for share in self.companions(share_indicator, part, same_period) {
            for whole in self.companions(&whole_indicator.name, part, same_period) {
                let implied = (share.value / Decimal::ONE_HUNDRED
                    * whole.value
                    * scale(whole_indicator.unit_multiplier)
                    / scale(part_indicator.unit_multiplier))
                .round_dp(PLACES)
                .normalize();
                let arithmetic = format!(
                    "{} % of {} x 10^{} {} = {} x 10^{}",
                    number(share.value),
                    number(whole.value),
                    whole_indicator.unit_multiplier,
                    whole_indicator.unit,
                    number(implied),
                    part_indicator.unit_multiplier,
                );
                checks.push(self.judged(
                    RelationKind::Part,
                    part,
                    vec![share.clone(), whole],
                    (implied, arithmetic),
                    String::new,
                ));
            }
        }
        checks
    }

    /// Indicators with a `kind` relation to `of`.
    fn related(&self, kind: RelationKind, of: &ResourceName) -> Vec<&'m Indicator> {
        self.related
            .iter()
            .copied()
            .filter(|i| {
                i.relation
                    .as_ref()
                    .is_some_and(|r| r.kind == kind && &r.of == of)
            })
            .collect()
    }
}

/// The likely reason a level's multiple and a growth rate disagree when their price bases
/// differ: a level at current prices also grows by inflation, which growth at comparable or
/// constant prices leaves out. Empty when the bases do not explain it.
fn price_bases_differ(
    (multiple_basis, growth_basis): (PriceBasis, PriceBasis),
    multiple: Decimal,
    implied: Decimal,
    years: u32,
) -> String {
    let real = |basis| matches!(basis, PriceBasis::Comparable | PriceBasis::Constant(_));
    if !(multiple_basis == PriceBasis::Nominal && real(growth_basis)) {
        return String::new();
    }
    let (Some(stated), Some(implied)) = (multiple.to_f64(), implied.to_f64()) else {
        return String::new();
    };
    if implied <= 0.0 || stated <= 0.0 {
        return String::new();
    }
    let prices =
        from_float(((stated / implied).powf(1.0 / f64::from(years)) - 1.0) * 100.0).round_dp(2);
    format!(
        "price bases differ: the multiple is of a level at current prices, the growth at {} \
         prices; the level also grows with prices, and the gap is what prices rising {} % a \
         year on average would make",
        if growth_basis == PriceBasis::Comparable {
            "comparable"
        } else {
            "constant"
        },
        number(prices)
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proptest::prelude::*;

    use super::*;
    use crate::domain::{
        Collection, DataStatus, Frequency, MeasureKind, Qualifier, Reading, Relation, Resource,
        SeriesRole,
    };

    fn name(collection: Collection, id: &str) -> ResourceName {
        ResourceName::new(collection, id).unwrap()
    }

    fn indicator(
        id: &str,
        unit: &str,
        multiplier: i32,
        relation: Option<(RelationKind, &str)>,
    ) -> Resource {
        Resource::Indicator(Indicator {
            name: name(Collection::Indicators, id),
            code: id.to_uppercase(),
            display_name: id.into(),
            description: String::new(),
            unit: unit.into(),
            unit_multiplier: multiplier,
            frequency: Frequency::MultiYear,
            measure_kind: MeasureKind::Flow,
            summable: false,
            price_basis: PriceBasis::NotApplicable,
            topic: "test".into(),
            record_measure: None,
            series_role: unit.contains(" per ").then_some(SeriesRole::ExchangeRate),
            relation: relation.map(|(kind, of)| Relation {
                kind,
                of: name(Collection::Indicators, of),
            }),
            provenance: None,
            meta: Default::default(),
        })
    }

    /// A figure of the one test source, for Xinjiang, over 2000-2009 unless `period` says.
    fn figure(
        id: &str,
        indicator: &str,
        period: &str,
        value: Decimal,
        qualifier: Qualifier,
    ) -> Observation {
        Observation {
            name: name(Collection::Observations, id),
            indicator: name(Collection::Indicators, indicator),
            area: name(Collection::Areas, "xinjiang"),
            period: period.into(),
            value,
            qualifier,
            status: DataStatus::Reported,
            reading: Some(Reading::Printed),
            provenance: Arc::new(Provenance {
                source_title: "Property source".into(),
                quoted_passage: "Stated.".into(),
                ..Provenance::default()
            }),
            derived_from: Vec::new(),
            meta: Default::default(),
        }
    }

    /// The demo record with `extra` resources, and its checks of the test source's figures.
    fn checks(extra: Vec<Resource>, tolerance: i64) -> Vec<ConsistencyCheck> {
        let mut resources = crate::seed::demo_resources().unwrap();
        resources.extend(extra);
        let model = ReadModel::from_resources(1, resources);
        check_consistency(&model, "", Decimal::from(tolerance), &Interrupt::default())
            .unwrap()
            .into_iter()
            .filter(|c| c.checked.provenance.source_title == "Property source")
            .collect()
    }

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn the_articles_doubling_and_growth_disagree_by_the_price_basis() {
        let model = ReadModel::from_resources(1, crate::seed::demo_resources().unwrap());
        let demo = check_consistency(&model, "", Decimal::from(5), &Interrupt::default()).unwrap();
        let doubling = demo
            .iter()
            .find(|c| c.relation == RelationKind::Multiple)
            .unwrap();
        assert_eq!(doubling.implied, d("1.894838"));
        assert!(!doubling.consistent);
        assert!(
            doubling.arithmetic.contains("needs 7.18 % a year"),
            "{}",
            doubling.arithmetic
        );
        assert!(
            doubling.explanation.contains("comparable prices"),
            "{}",
            doubling.explanation
        );
        // Allowing 6 % for "about", the same figures agree, and nothing needs explaining.
        let lenient =
            check_consistency(&model, "", Decimal::from(6), &Interrupt::default()).unwrap();
        let doubling = lenient
            .iter()
            .find(|c| c.relation == RelationKind::Multiple)
            .unwrap();
        assert!(doubling.consistent && doubling.explanation.is_empty());
    }

    proptest! {
        // Each case builds the demo record anew.
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The multiple implied by a growth rate is (1 + g)^n, whichever way it is computed,
        /// and the multiple a rate is said to need gives back that rate.
        #[test]
        fn a_multiple_is_the_growth_compounded(
            tenths in 0i64..200,
            years in 1i32..=30,
            stated_thousandths in 500i64..20_000,
        ) {
            let growth = Decimal::new(tenths, 1);
            let period = format!("{}/{}", 2000, 2000 + years);
            let growth_period = format!("{}/{}", 2001, 2000 + years);
            let stated = Decimal::new(stated_thousandths, 3);
            let found = checks(
                vec![
                    Resource::Observation(figure("m", "gdp-multiple", &period, stated, Qualifier::About)),
                    Resource::Observation(figure("g", "gdp-average-growth", &growth_period, growth, Qualifier::Exact)),
                ],
                5,
            );
            prop_assert_eq!(found.len(), 1);
            let check = &found[0];
            let exact = (1.0 + tenths as f64 / 1000.0).powi(years);
            let implied = check.implied.to_f64().unwrap();
            prop_assert!((implied - exact).abs() <= exact * 1e-9 + 1e-6, "{implied} vs {exact}");
            let within = (implied - stated_thousandths as f64 / 1000.0).abs()
                <= stated_thousandths as f64 / 1000.0 * 0.05;
            // Far from the edge the float and the decimal judgement agree.
            let margin = ((implied / (stated_thousandths as f64 / 1000.0)) - 1.0).abs();
            if (margin - 0.05).abs() > 1e-6 {
                prop_assert_eq!(check.consistent, within);
            }
            prop_assert!(check.independent);

            // Stating the multiple as the growth compounds, rounded to the thousandth, agrees.
            let compounded = from_float(exact).round_dp(3);
            let again = checks(
                vec![
                    Resource::Observation(figure("m", "gdp-multiple", &period, compounded, Qualifier::About)),
                    Resource::Observation(figure("g", "gdp-average-growth", &growth_period, growth, Qualifier::Exact)),
                ],
                5,
            );
            prop_assert!(compounded.is_zero() || again[0].consistent, "{}", again[0].arithmetic);
        }

        /// An amount at a rate, between any unit multipliers, is the other amount; a figure
        /// computed from the amounts is never an independent check of them.
        #[test]
        fn an_amount_at_a_rate_is_the_other_amount(
            cents in 1i64..10_000_000_000,
            rate_ten_thousandths in 10_000i64..100_000,
            from_multiplier in prop::sample::select(vec![0, 3, 6, 9]),
            to_multiplier in prop::sample::select(vec![0, 3, 6, 9]),
            derived in any::<bool>(),
        ) {
            let amount = Decimal::new(cents, 2);
            let rate = Decimal::new(rate_ten_thousandths, 4);
            let converted = (amount * scale(from_multiplier) / rate / scale(to_multiplier))
                .round_dp(PLACES);
            let mut rate_figure = figure("rate", "test-rate", "2000/2009", rate, Qualifier::Exact);
            if derived {
                rate_figure.derived_from = vec![name(Collection::Observations, "cny")];
            }
            let resources = |stated: Decimal, qualifier| vec![
                indicator("test-cny", "CNY", from_multiplier, None),
                indicator("test-usd", "USD", to_multiplier, Some((RelationKind::Conversion, "test-cny"))),
                indicator("test-rate", "CNY per USD", 0, None),
                Resource::Observation(figure("cny", "test-cny", "2000/2009", amount, Qualifier::Exact)),
                Resource::Observation(figure("usd", "test-usd", "2000/2009", stated, qualifier)),
                Resource::Observation(rate_figure.clone()),
            ];
            let found = checks(resources(converted, Qualifier::About), 5);
            prop_assert_eq!(found.len(), 1);
            prop_assert!(found[0].consistent, "{}", found[0].arithmetic);
            prop_assert_eq!(found[0].independent, !derived);
            prop_assert_eq!(found[0].implied, converted.normalize());
            if !converted.is_zero() {
                let off = checks(resources(converted * d("1.2"), Qualifier::About), 5);
                prop_assert!(!off[0].consistent, "{}", off[0].arithmetic);
            }
        }

        /// A part is the share of the whole, between any unit multipliers.
        #[test]
        fn a_part_is_the_share_of_the_whole(
            share_tenths in 0i64..=1000,
            whole_cents in 1i64..10_000_000_000,
            whole_multiplier in prop::sample::select(vec![0, 3, 6, 9]),
            part_multiplier in prop::sample::select(vec![0, 3, 6, 9]),
        ) {
            let share = Decimal::new(share_tenths, 1);
            let whole = Decimal::new(whole_cents, 2);
            let part = (share / Decimal::ONE_HUNDRED * whole * scale(whole_multiplier)
                / scale(part_multiplier))
                .round_dp(PLACES);
            let resources = |stated: Decimal| vec![
                indicator("test-whole", "CNY", whole_multiplier, None),
                indicator("test-share", "percent", 0, Some((RelationKind::Share, "test-whole"))),
                indicator("test-part", "CNY", part_multiplier, Some((RelationKind::Part, "test-share"))),
                Resource::Observation(figure("whole", "test-whole", "2000/2009", whole, Qualifier::Exact)),
                Resource::Observation(figure("share", "test-share", "2000/2009", share, Qualifier::Exact)),
                Resource::Observation(figure("part", "test-part", "2000/2009", stated, Qualifier::About)),
            ];
            let found = checks(resources(part), 5);
            prop_assert_eq!(found.len(), 1);
            prop_assert!(found[0].consistent, "{}", found[0].arithmetic);
            prop_assert_eq!(found[0].implied, part.normalize());
            if !part.is_zero() {
                let off = checks(resources(part * d("0.9")), 5);
                prop_assert!(!off[0].consistent, "{}", off[0].arithmetic);
            }
        }
    }
}
