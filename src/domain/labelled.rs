//! Enumerations of the record whose every variant has a stable position and an UPPER_SNAKE
//! label: filters accept the labels, the wire numbers the variants by position (after its
//! `*_UNSPECIFIED`), tables print them. Each enumeration declares its variants and labels once,
//! through `labelled!`; a test holds them in step with the protos.

/// An enumeration with its variants in declaration order and their labels.
pub trait Labelled: Copy + Eq + 'static {
    /// Every variant, in declaration order.
    const ALL: &'static [Self];
    /// Each variant's label, in the same order.
    const LABELS: &'static [&'static str];

    /// The variant's position in `ALL`.
    fn ordinal(self) -> usize;

    /// The variant's label, such as `HEALTH_CARE`.
    fn label(self) -> &'static str {
        Self::LABELS[self.ordinal()]
    }

    /// The variant at `ordinal`, if there is one.
    fn from_ordinal(ordinal: usize) -> Option<Self> {
        Self::ALL.get(ordinal).copied()
    }
}

/// Declares an enumeration with its labels: `labelled! { #[derive(..)] pub enum E { A = "A", } }`.
macro_rules! labelled {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident = $label:literal,)*
        }
    ) => {
        $(#[$meta])*
        pub enum $name {
            $($(#[$variant_meta])* $variant,)*
        }

        impl $crate::domain::Labelled for $name {
            const ALL: &'static [Self] = &[$($name::$variant,)*];
            const LABELS: &'static [&'static str] = &[$($label,)*];

            fn ordinal(self) -> usize {
                self as usize
            }
        }
    };
}

pub(crate) use labelled;
