//! Capitals by each language's rules, for the looks that set their titles in capitals.
//!
//! Unicode's default upper-casing (`str::to_uppercase`) keeps every accent: `ά` becomes `Ά`.
//! Greek drops the tonos and the other accents in all-capitals text (`Ο Καραβάνι` is set
//! `Ο ΚΑΡΑΒΑΝΙ`), keeps the dialytika, and where a dropped accent was all that kept two vowels
//! apart (`Μάιος`, two syllables), the second takes a dialytika so they are not read as one
//! diphthong (`ΜΑΪΟΣ`); the disjunctive `ή` ("or") keeps its accent so it is not read as the
//! article `η`. These are the rules CLDR's `el-Upper` transform and ICU's Greek upper-casing
//! apply. Every other script is upper-cased as Unicode's default does.
//!
//! This module knows only characters: nothing of fonts, layout or looks.

use icu_normalizer::{ComposingNormalizerBorrowed, DecomposingNormalizerBorrowed};

/// Accents Greek capitals drop: oxia/tonos, varia, perispomeni, psili and dasia.
const DROPPED: [char; 5] = ['\u{0301}', '\u{0300}', '\u{0342}', '\u{0313}', '\u{0314}'];
/// The dialytika (diaeresis), which Greek capitals keep.
const DIALYTIKA: char = '\u{0308}';
/// The ypogegrammeni (iota subscript), written as a capital iota beside a capital.
const YPOGEGRAMMENI: char = '\u{0345}';

/// `text` in capitals: Greek by its own rules (the module's doc), the rest as Unicode's
/// default upper-casing.
pub(crate) fn upper(text: &str) -> String {
    if !text.chars().any(is_greek) {
        return text.to_uppercase();
    }
    // Each letter with the combining marks that follow it, in canonical decomposition, so a
    // precomposed `ά` and a typed `α` + U+0301 are one and the same.
    let decomposed = DecomposingNormalizerBorrowed::new_nfd().normalize(text);
    let mut letters: Vec<(char, Vec<char>)> = Vec::new();
    for c in decomposed.chars() {
        match letters.last_mut() {
            Some((_, marks)) if is_combining(c) => marks.push(c),
            _ => letters.push((c, Vec::new())),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut add_dialytika = false;
    for i in 0..letters.len() {
        let (base, marks) = &letters[i];
        let needs_dialytika = std::mem::take(&mut add_dialytika);
        if !is_greek(*base) {
            out.extend(base.to_uppercase());
            out.extend(marks);
            continue;
        }
        let accented = marks.iter().any(|m| DROPPED.contains(m));
        let alone = |j: Option<usize>| {
            j.and_then(|j| letters.get(j))
                .is_none_or(|(b, _)| !b.is_alphabetic())
        };
        let disjunctive_eta = marks.as_slice() == ['\u{0301}']
            && base.to_lowercase().eq(['η'])
            && alone(i.checked_sub(1))
            && alone(Some(i + 1));
        if accented && let Some((next, next_marks)) = letters.get(i + 1) {
            add_dialytika = next_marks.is_empty() && is_diphthong(*base, *next);
        }
        out.extend(base.to_uppercase());
        for &mark in marks {
            match mark {
                YPOGEGRAMMENI => out.push('Ι'),
                '\u{0301}' if disjunctive_eta => out.push('\u{0301}'),
                m if DROPPED.contains(&m) => {}
                m => out.push(m),
            }
        }
        if needs_dialytika && !marks.contains(&DIALYTIKA) {
            out.push(DIALYTIKA);
        }
    }
    ComposingNormalizerBorrowed::new_nfc()
        .normalize(&out)
        .into_owned()
}

/// Whether `c` is a letter of the Greek script (Greek and Coptic's Greek letters, and Greek
/// Extended's polytonic ones).
fn is_greek(c: char) -> bool {
    matches!(c, '\u{0386}'..='\u{03FF}' | '\u{1F00}'..='\u{1FFF}') && c.is_alphabetic()
}

/// Combining diacritical marks, the only marks Greek letters take.
fn is_combining(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}')
}

/// Whether `first` then `second` spell one of Greek's diphthongs (αι ει οι υι αυ ευ ηυ ου),
/// in either case.
fn is_diphthong(first: char, second: char) -> bool {
    let lower = |c: char| c.to_lowercase().next().unwrap_or(c);
    matches!(
        (lower(first), lower(second)),
        ('α' | 'ε' | 'ο' | 'υ', 'ι') | ('α' | 'ε' | 'η' | 'ο', 'υ')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greek_capitals_drop_their_accents() {
        // The title (#22, item 13): no stray tonos over the capitals.
        assert_eq!(upper("Ο ΚΑΡΑΒΆΝΙ"), "Ο ΚΑΡΑΒΑΝΙ");
        assert_eq!(upper("Ο Καραβάνι"), "Ο ΚΑΡΑΒΑΝΙ");
        assert_eq!(
            "Ο ΚΑΡΑΒΆΝΙ".to_uppercase(),
            "Ο ΚΑΡΑΒΆΝΙ",
            "Unicode's default keeps it"
        );
        assert_eq!(
            upper("Η νύχτα των ζωντανών νεκρών"),
            "Η ΝΥΧΤΑ ΤΩΝ ΖΩΝΤΑΝΩΝ ΝΕΚΡΩΝ"
        );
        // Typed as a letter and a combining accent, the same.
        assert_eq!(upper("καραβα\u{0301}νι"), "ΚΑΡΑΒΑΝΙ");
        // Polytonic accents and breathings go too; final sigma is a capital sigma.
        assert_eq!(upper("ἡ Ὀδύσσεια"), "Η ΟΔΥΣΣΕΙΑ");
        assert_eq!(upper("ᾠδή"), "ΩΙΔΗ");
    }

    #[test]
    fn greek_capitals_keep_the_dialytika_and_the_syllables() {
        assert_eq!(upper("Προϊόν"), "ΠΡΟΪΟΝ");
        assert_eq!(upper("ΐ"), "Ϊ");
        // The accent kept these vowels apart; the dialytika does it in capitals.
        assert_eq!(upper("Μάιος"), "ΜΑΪΟΣ");
        assert_eq!(upper("ρολόι"), "ΡΟΛΟΪ");
        assert_eq!(upper("άυλος"), "ΑΫΛΟΣ");
        // An accent on the second vowel: a diphthong, nothing added.
        assert_eq!(upper("ναύτης"), "ΝΑΥΤΗΣ");
        assert_eq!(upper("είναι"), "ΕΙΝΑΙ");
        // The disjunctive ή keeps its accent; the article η has none to keep.
        assert_eq!(upper("ζωή ή θάνατος"), "ΖΩΗ Ή ΘΑΝΑΤΟΣ");
        assert_eq!(upper("η ζωή"), "Η ΖΩΗ");
    }

    #[test]
    fn other_scripts_are_upper_cased_as_unicode_does() {
        for text in [
            "Les Misérables",
            "Straße",
            "Ça ira",
            "Tiếng Việt",
            "東京の夜",
            "Ночь",
        ] {
            assert_eq!(upper(text), text.to_uppercase(), "{text}");
        }
        // Beside Greek, Latin keeps its accents.
        assert_eq!(upper("Café Ἀθῆναι"), "CAFÉ ΑΘΗΝΑΙ");
    }
}
