//! Where lines may break and how a block's words are shared among its lines.
//!
//! Break opportunities: alphabetic scripts break only at white space; CJK between any two
//! characters that UAX #14 allows, with its kinsoku rules (never before closing punctuation
//! or small kana, never after opening punctuation); Thai, Lao, Khmer and Myanmar at the word
//! boundaries ICU4X's dictionaries find (`icu_segmenter`, which also does UAX #14). Lines
//! are balanced (the widest line as narrow as it can be, no word alone on the last line when
//! that can be avoided), and text that cannot fit ends in an ellipsis, never inside a grapheme
//! cluster. This module knows words and widths, not zones or pixels.

use std::sync::OnceLock;

use icu_segmenter::LineSegmenter;
use icu_segmenter::LineSegmenterBorrowed;
use icu_segmenter::options::{LineBreakOptions, LineBreakStrictness};
use unicode_script::{Script, UnicodeScript};
use unicode_segmentation::UnicodeSegmentation;

use super::{Spec, Word, line_metrics};
use crate::poster::fonts::{self, Setting};

/// True for characters of scripts whose words run together, so a line may break between two
/// of them: ideographs, kana and hangul (between any two characters UAX #14 allows, with its
/// kinsoku rules), and Thai, Lao, Khmer and Myanmar (at the word boundaries a dictionary
/// finds).
fn breaks_inside_words(c: char) -> bool {
    fonts::is_cjk_char(c)
        || matches!(c, '\u{3000}'..='\u{303F}' | '\u{FF00}'..='\u{FFEF}')
        || matches!(
            c.script(),
            Script::Thai | Script::Lao | Script::Khmer | Script::Myanmar
        )
}

/// The line segmenter: ICU4X's UAX #14 with CSS `line-break: strict` (never a line starting
/// with small kana or the prolonged sound mark, the kinsoku a title wants), and ICU's word
/// dictionaries for Thai, Lao, Khmer and Myanmar, which UAX #14 leaves to a dictionary.
fn segmenter() -> LineSegmenterBorrowed<'static> {
    static SEGMENTER: OnceLock<LineSegmenterBorrowed<'static>> = OnceLock::new();
    *SEGMENTER.get_or_init(|| {
        let mut options = LineBreakOptions::default();
        options.strictness = Some(LineBreakStrictness::Strict);
        LineSegmenter::new_dictionary(options)
    })
}

/// The text's break units in logical order: the stretch between two line-break
/// opportunities without its white space, whether white space followed, and whether the
/// break before it is weak. Alphabetic scripts break only at white space, as they always
/// have here; CJK between any two characters that UAX #14 allows (never before closing
/// punctuation or small kana, never after opening punctuation); Thai, Lao, Khmer and Myanmar
/// between the words their dictionaries find.
pub(super) fn segments(text: &str) -> Vec<(&str, bool, bool)> {
    let mut cuts: Vec<(usize, bool)> = segmenter()
        .segment_str(text)
        .filter(|&i| i > 0)
        .filter_map(|i| {
            let before = text[..i].chars().next_back();
            let after = text[i..].chars().next();
            let (Some(b), Some(a)) = (before, after) else {
                return Some((i, false));
            };
            if b.is_whitespace() {
                return Some((i, false));
            }
            // Between two characters of one such script (inside a katakana word, between
            // hangul syllables, between two ideographs, between two Thai words) a break is a
            // last resort; where the script changes (砂漠の|キャラバン) or after punctuation
            // it is where a reader expects one.
            (breaks_inside_words(b) || breaks_inside_words(a))
                .then(|| (i, b.script() == a.script()))
        })
        .collect();
    // A strong break wins over a weak one at the same place.
    cuts.sort_unstable_by_key(|&(i, weak)| (i, weak));
    cuts.dedup_by_key(|c| c.0);
    let mut out: Vec<(&str, bool, bool)> = Vec::new();
    let (mut start, mut weak_start) = (0, false);
    for (cut, weak) in cuts {
        let piece = &text[start..cut];
        let body = piece.trim();
        if body.is_empty() {
            if let Some(last) = out.last_mut() {
                last.1 |= !piece.is_empty();
            }
        } else {
            out.push((body, body.len() < piece.trim_start().len(), weak_start));
        }
        start = cut;
        weak_start = weak;
    }
    out
}

/// Breaks `n` words into `lines` lines minimising the widest line; with the orphan rule the
/// last line must hold at least two words. Returns the break indices (line starts), or `None`.
pub(super) fn balanced_breaks(
    width: &dyn Fn(usize, usize) -> f32,
    n: usize,
    lines: usize,
    no_orphan: bool,
    may_start: &dyn Fn(usize) -> bool,
) -> Option<Vec<usize>> {
    if lines == 0 || lines > n {
        return None;
    }
    // cost[k][i]: the best widest line for words i.. in k lines.
    let inf = f32::INFINITY;
    let mut cost = vec![vec![inf; n + 1]; lines + 1];
    let mut next = vec![vec![n; n + 1]; lines + 1];
    for (i, c) in cost[1].iter_mut().enumerate().take(n) {
        if !no_orphan || n - i >= 2 {
            *c = width(i, n);
        }
    }
    for k in 2..=lines {
        for i in 0..n {
            for j in (i + 1)..n {
                if n - j < k - 1 {
                    break;
                }
                if !may_start(j) {
                    continue;
                }
                let c = width(i, j).max(cost[k - 1][j]);
                if c < cost[k][i] {
                    cost[k][i] = c;
                    next[k][i] = j;
                }
            }
        }
    }
    if !cost[lines][0].is_finite() {
        return None;
    }
    let mut starts = vec![0];
    let mut i = 0;
    for k in (2..=lines).rev() {
        i = next[k][i];
        starts.push(i);
    }
    Some(starts)
}

/// Whether a billing block's line may start at word `j`: after a separator (`,` `;` `·` `•`
/// `/` `|`), or where a name ends and the next credit's small words begin ("… Jane Doe |
/// written by …"). Between two words of a name, or inside "written by", it may not.
pub(super) fn credit_starts(words: &[Word], j: usize) -> bool {
    let (Some(prev), Some(word)) = (j.checked_sub(1).and_then(|p| words.get(p)), words.get(j))
    else {
        return true;
    };
    let separated = prev.text.ends_with([',', ';', '·', '•', '/', '|'])
        || ["·", "•", "/", "|"].contains(&word.text.as_str());
    let name_ends = prev.scale == 1.0 && word.scale < 1.0;
    separated || name_ends
}

pub(super) fn split_lines(words: &[Word], starts: &[usize]) -> Vec<Vec<Word>> {
    starts
        .iter()
        .enumerate()
        .map(|(k, &s)| {
            let e = starts.get(k + 1).copied().unwrap_or(words.len());
            words[s..e].to_vec()
        })
        .collect()
}

fn ellipsis(spec: &Spec) -> &'static str {
    if fonts::has_char(spec.face, '…') {
        "…"
    } else {
        "..."
    }
}

/// The longest prefix of `w` that fits `max_w` ems once an ellipsis is appended. Width grows
/// with the prefix, so a binary search finds it in a handful of shapings.
fn truncate_word(w: &Word, spec: &Spec, setting: Setting, max_w: f32) -> Option<Word> {
    // Cut between grapheme clusters, never inside one (a base letter and its marks).
    let chars: Vec<&str> = w.text.graphemes(true).collect();
    let attempt = |k: usize| -> Option<Word> {
        let text: String = chars[..k].concat() + ellipsis(spec);
        Word::new(text, setting, w.scale)
            .filter(|t| line_metrics(std::slice::from_ref(t), 0.0).width() <= max_w)
    };
    let (mut lo, mut hi) = (0, chars.len().saturating_sub(1));
    let mut best = attempt(0);
    best.as_ref()?;
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        match attempt(mid) {
            Some(t) => {
                best = Some(t);
                lo = mid;
            }
            None => hi = mid - 1,
        }
    }
    best
}

/// Greedy filling at a fixed size for text that cannot fit otherwise: full lines, then an
/// ellipsis on the last one.
pub(super) fn greedy_ellipsized(
    words: &[Word],
    spec: &Spec,
    setting: Setting,
    space: f32,
    max_w: f32,
) -> Vec<Vec<Word>> {
    let mut lines: Vec<Vec<Word>> = Vec::new();
    let mut i = 0;
    while i < words.len() && lines.len() < spec.max_lines {
        let mut line: Vec<Word> = Vec::new();
        while i < words.len() {
            let mut trial = line.clone();
            trial.push(words[i].clone());
            if line_metrics(&trial, space).width() <= max_w {
                line = trial;
                i += 1;
            } else {
                break;
            }
        }
        if line.is_empty() {
            // A single word wider than the line: cut it and mark the cut.
            if let Some(t) = truncate_word(&words[i], spec, setting, max_w) {
                line.push(t);
            }
            i += 1;
        }
        lines.push(line);
    }
    if i < words.len()
        && let Some(last) = lines.last_mut()
    {
        // Text remains: end the last line with an ellipsis, dropping words until it fits.
        while let Some(w) = last.pop() {
            let mut t = w.clone();
            t.text.push_str(ellipsis(spec));
            if let Some(mut t) = Word::new(t.text, setting, w.scale) {
                t.gap = w.gap;
                last.push(t);
                if line_metrics(last, space).width() <= max_w {
                    break;
                }
                last.pop();
            }
            if last.is_empty() {
                if let Some(t) = truncate_word(&w, spec, setting, max_w) {
                    last.push(t);
                }
                break;
            }
        }
    }
    lines.retain(|l| !l.is_empty());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(text: &str) -> Vec<(&str, bool, bool)> {
        segments(text)
    }

    /// Latin keeps breaking at spaces only: a hyphenated name stays whole.
    #[test]
    fn alphabetic_text_breaks_only_at_spaces() {
        let u: Vec<&str> = units("Joseph Gordon-Levitt and/or Ada")
            .iter()
            .map(|u| u.0)
            .collect();
        assert_eq!(u, ["Joseph", "Gordon-Levitt", "and/or", "Ada"]);
        assert!(
            units("a b").iter().all(|u| !u.2),
            "spaces are strong breaks"
        );
        assert_eq!(units("Ada  ")[0], ("Ada", true, false));
    }

    /// UAX #14 with kinsoku: never a line starting with closing punctuation, small kana or the
    /// long-vowel mark, never one ending with opening punctuation.
    #[test]
    fn cjk_breaks_between_characters_but_not_around_kinsoku_punctuation() {
        let u = units("「東京の夜」、キャラバンー。");
        let starts: Vec<char> = u.iter().filter_map(|u| u.0.chars().next()).collect();
        for c in ['」', '、', '。', 'ャ', 'ー'] {
            assert!(!starts.contains(&c), "a line may not start with {c}: {u:?}");
        }
        assert!(u.iter().all(|u| !u.0.ends_with('「')), "{u:?}");
        assert!(u.len() >= 6, "ideographs and kana break: {u:?}");
        // Breaks where the script changes are strong, inside a katakana word weak.
        let u = units("砂漠のキャラバン");
        let strong: Vec<&str> = u.iter().filter(|u| !u.2).map(|u| u.0).collect();
        assert_eq!(strong, ["砂", "の", "キャ"], "{u:?}");
        // Korean breaks between syllables only as a last resort; at spaces first.
        let u = units("사막의 대상");
        let strong: Vec<&str> = u.iter().filter(|u| !u.2).map(|u| u.0).collect();
        assert_eq!(strong, ["사", "대"], "{u:?}");
    }

    /// Thai, Lao, Khmer and Myanmar have no spaces between words: a line may break between
    /// the words ICU's dictionaries know (as a last resort, like a break inside a CJK run),
    /// never inside a word or a grapheme cluster. กองคาราวานทะเลทราย ("desert caravan") is
    /// กอง คาราวาน ทะเล ทราย: troop, caravan, sea, sand; the spelling-only rule it replaces
    /// split ทะเล ("sea") before its leading vowel.
    #[test]
    fn southeast_asian_scripts_break_between_dictionary_words() {
        for (text, word) in [
            ("กองคาราวานทะเลทราย", "ทะเล"),
            ("ไก่ได้ทำน้ำใจ", "น้ำใจ"),
            ("ເມືອງແມ່ນ້ຳ", "ເມືອງ"),
            ("ក្រុងទន្លេ", "ទន្លេ"),
            ("ရန်ကုန်မြို့", "မြို့"),
        ] {
            let u = units(text);
            let joined: String = u.iter().map(|u| u.0).collect();
            assert_eq!(joined, text);
            assert!(u.len() >= 2 && u[1..].iter().all(|u| u.2), "{text}: {u:?}");
            // Every break falls between grapheme clusters.
            let clusters: Vec<usize> = text.grapheme_indices(true).map(|(i, _)| i).collect();
            let mut at = 0;
            for unit in &u {
                assert!(
                    clusters.contains(&at),
                    "{text}: break inside a cluster: {u:?}"
                );
                at += unit.0.len();
            }
            // The word is never cut: it is a unit of its own.
            assert!(u.iter().any(|u| u.0 == word), "{text}: {word} cut: {u:?}");
        }
    }
}
