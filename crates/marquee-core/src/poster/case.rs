//! Capitals by each language's rules, for the looks that set their titles in capitals.
//!
//! Unicode's default upper-casing (`str::to_uppercase`) keeps every accent: `ά` becomes `Ά`.
//! Greek drops the tonos and the other accents in all-capitals text (`Ο Καραβάνι` is set
//! `Ο ΚΑΡΑΒΑΝΙ`), keeps the dialytika, and where a dropped accent was all that kept two vowels
//! apart (`Μάιος`, two syllables), the second takes a dialytika so they are not read as one
//! diphthong (`ΜΑΪΟΣ`); the disjunctive `ή` ("or") keeps its accent so it is not read as the
//! article `η`. Turkish and Azerbaijani capitalise `i` as the dotted `İ` (their `ı` is the
//! dotless one), so `Kış Çiçeği` is `KIŞ ÇİÇEĞİ`, not `KIŞ ÇIÇEĞI`. German `ß` becomes `SS`.
//!
//! The rules are ICU4X's (`icu_casemap`: Unicode's SpecialCasing and CLDR's `el-Upper`), applied
//! by the language the text shows: Greek letters mean Greek rules; a letter only Turkish and
//! Azerbaijani write (`ı`, `İ`, `ğ`, `ə`) means Turkish rules. A title gives no other sign of its
//! language, so other text takes Unicode's default, language-neutral mapping.
//!
//! This module knows only characters: nothing of fonts, layout or looks.

use icu_casemap::CaseMapper;
use icu_locale_core::{LanguageIdentifier, langid};

/// `text` in capitals by the rules of the language its letters show (the module's doc).
pub(crate) fn upper(text: &str) -> String {
    CaseMapper::new()
        .uppercase_to_string(text, &language_of(text))
        .into_owned()
}

/// The language whose capitals `text` takes: Greek, Turkish, or none in particular.
fn language_of(text: &str) -> LanguageIdentifier {
    if text.chars().any(is_greek) {
        langid!("el")
    } else if text
        .chars()
        .any(|c| matches!(c, 'ı' | 'İ' | 'ğ' | 'Ğ' | 'ə' | 'Ə'))
    {
        langid!("tr")
    } else {
        LanguageIdentifier::UNKNOWN
    }
}

/// Whether `c` is a letter of the Greek script (Greek and Coptic's Greek letters, and Greek
/// Extended's polytonic ones).
fn is_greek(c: char) -> bool {
    matches!(c, '\u{0386}'..='\u{03FF}' | '\u{1F00}'..='\u{1FFF}') && c.is_alphabetic()
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
        // German: ß has no single capital in Unicode's default mapping.
        assert_eq!(upper("Straße"), "STRASSE");
    }

    /// Turkish text (it has a letter only Turkish and Azerbaijani write) capitalises i as the
    /// dotted İ, as SpecialCasing.txt's `tr` rules say; Unicode's default gives a dotless I.
    #[test]
    fn turkish_capitals_keep_the_dot_on_i() {
        assert_eq!(upper("Kış Çiçeği"), "KIŞ ÇİÇEĞİ");
        assert_eq!(
            "Kış Çiçeği".to_uppercase(),
            "KIŞ ÇIÇEĞI",
            "the default has no dot"
        );
        assert_eq!(
            upper("Bir zamanlar Anadolu'da ılık"),
            "BİR ZAMANLAR ANADOLU'DA ILIK"
        );
        // Without such a letter the language is unknown: the default mapping.
        assert_eq!(upper("Vinci"), "VINCI");
    }
}
