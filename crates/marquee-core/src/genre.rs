//! Genres: the vocabulary every part of Marquee shares — a [`Style`] a user picks, the
//! words it adds to a model's prompt, its `Palette` of colours and where its title sits.
//!
//! A leaf module. Models read the palette and the title's place to draw art that leaves room
//! for the type; the composer (`poster`) adds typography per genre; Slack lists the names.
//! None of them owns the vocabulary, so none has to import another for it.

use std::fmt;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rgb(pub(crate) u8, pub(crate) u8, pub(crate) u8);

impl Rgb {
    pub(crate) fn color(self, alpha: f32) -> tiny_skia::Color {
        tiny_skia::Color::from_rgba8(
            self.0,
            self.1,
            self.2,
            (alpha.clamp(0.0, 1.0) * 255.0).round() as u8,
        )
    }

    /// Relative luminance (WCAG), 0 for black to 1 for white.
    pub(crate) fn luminance(self) -> f32 {
        luminance(self.0, self.1, self.2)
    }

    /// The colour `t` of the way from `self` to `o`.
    pub(crate) fn mix(self, o: Rgb, t: f32) -> Rgb {
        let t = t.clamp(0.0, 1.0);
        let m = |a: u8, b: u8| (f32::from(a) + (f32::from(b) - f32::from(a)) * t).round() as u8;
        Rgb(m(self.0, o.0), m(self.1, o.1), m(self.2, o.2))
    }
}

/// WCAG relative luminance of an sRGB triple.
pub(crate) fn luminance(r: u8, g: u8, b: u8) -> f32 {
    fn lin(c: u8) -> f32 {
        let c = f32::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    }
    0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

/// Where the title sits on the sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    Top,
    Center,
    Bottom,
    /// Japanese, Chinese or Korean titles set in columns, top to bottom, at the right of the
    /// sheet (tategaki). A title without CJK in it is set where its look puts it.
    Vertical,
}

impl Placement {
    pub(crate) const ALL: [Placement; 4] = [
        Placement::Top,
        Placement::Center,
        Placement::Bottom,
        Placement::Vertical,
    ];

    /// The name users type after `--placement`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Placement::Top => "top",
            Placement::Center => "center",
            Placement::Bottom => "bottom",
            Placement::Vertical => "vertical",
        }
    }

    /// Accepts the name, case-insensitively, and the British "centre".
    pub fn parse(text: &str) -> Option<Placement> {
        let t = text.trim().to_lowercase();
        let t = if t == "centre" { "center" } else { t.as_str() };
        Placement::ALL.into_iter().find(|p| p.name() == t)
    }
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The colours of the offline key art, from the top of the sky down to the nearest silhouette.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Palette {
    /// Sky gradient: zenith, middle, horizon.
    pub(crate) sky: [Rgb; 3],
    /// The light source: sun, moon, planet or lamp, and its glow.
    pub(crate) light: Rgb,
    /// The farthest silhouette layer; nearer layers blend from this towards `near`.
    pub(crate) far: Rgb,
    /// The nearest silhouettes and figures.
    pub(crate) near: Rgb,
    /// Small bright details: windows, stars, bokeh, confetti.
    pub(crate) accent: Rgb,
    /// Film grain strength, 0 to about 0.1.
    pub(crate) grain: f32,
    /// Vignette strength at the corners, 0 to 1.
    pub(crate) vignette: f32,
    /// Render in monochrome (noir).
    pub(crate) mono: bool,
}

/// A genre look. Every preset works with every model.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Style {
    #[default]
    Thriller,
    Noir,
    SciFi,
    Horror,
    Western,
    Romance,
    Fantasy,
    Animation,
    Documentary,
    Comedy,
}

impl Style {
    pub const ALL: [Style; 10] = [
        Style::Noir,
        Style::SciFi,
        Style::Horror,
        Style::Western,
        Style::Romance,
        Style::Thriller,
        Style::Fantasy,
        Style::Animation,
        Style::Documentary,
        Style::Comedy,
    ];

    /// The name users type after `--style`.
    pub fn name(self) -> &'static str {
        match self {
            Style::Noir => "noir",
            Style::SciFi => "sci-fi",
            Style::Horror => "horror",
            Style::Western => "western",
            Style::Romance => "romance",
            Style::Thriller => "thriller",
            Style::Fantasy => "fantasy",
            Style::Animation => "animation",
            Style::Documentary => "documentary",
            Style::Comedy => "comedy",
        }
    }

    /// Accepts the name, case-insensitively, with a few common spellings.
    pub fn parse(text: &str) -> Option<Style> {
        let t = text.trim().to_lowercase();
        let t = match t.as_str() {
            "scifi" | "sci_fi" | "science-fiction" | "sf" => "sci-fi",
            "animated" | "cartoon" => "animation",
            "doc" => "documentary",
            other => other,
        };
        Style::ALL.into_iter().find(|s| s.name() == t)
    }

    /// Picks a style from the description's words when the user names none: the style with
    /// the most [`CUES`] in it, whatever their language, or the default when none is there.
    /// On a tie the style listed later in [`CUES`] wins.
    pub(crate) fn guess(description: &str) -> Style {
        let counts = CueFinder::get().counts(&cue_text(description));
        CUES.iter()
            .zip(counts)
            .map(|((style, _), n)| (*style, n))
            .filter(|(_, n)| *n > 0)
            .max_by_key(|(_, n)| *n)
            .map(|(s, _)| s)
            .unwrap_or_default()
    }

    /// Words added to the prompt for the AI models.
    pub fn prompt_suffix(self) -> &'static str {
        match self {
            Style::Noir => {
                "film noir movie poster, high-contrast black and white, hard shadows, venetian blinds, 1940s"
            }
            Style::SciFi => {
                "science fiction movie poster, cinematic lighting, vast scale, neon and chrome"
            }
            Style::Horror => "horror movie poster, dread, fog, low key lighting, desaturated",
            Style::Western => "western movie poster, dusty golden hour, wide desert vista, painted",
            Style::Romance => "romantic movie poster, warm soft light, bokeh, tender",
            Style::Thriller => {
                "thriller movie poster, tense, teal and orange grade, dramatic silhouette"
            }
            Style::Fantasy => {
                "epic fantasy movie poster, painterly, luminous sky, sweeping landscape"
            }
            Style::Animation => {
                "animated feature poster, vibrant colours, stylised 3D characters, playful"
            }
            Style::Documentary => {
                "documentary poster, photographic, natural light, honest, minimal"
            }
            Style::Comedy => "comedy movie poster, bright, saturated, expressive characters, fun",
        }
    }

    /// Things the AI models should avoid for this look, beyond the defaults.
    pub fn negative_suffix(self) -> &'static str {
        match self {
            Style::Noir => "colour, saturated",
            Style::Animation => "photorealistic, gore",
            Style::Documentary => "cartoon, fantasy",
            _ => "",
        }
    }
}

impl Style {
    /// The colours of this genre's offline key art (the composer also takes its scrim from
    /// them).
    pub(crate) fn palette(self) -> Palette {
        match self {
            Style::Thriller => Palette {
                sky: [Rgb(6, 24, 34), Rgb(22, 78, 92), Rgb(236, 128, 52)],
                light: Rgb(255, 176, 92),
                far: Rgb(24, 60, 72),
                near: Rgb(4, 10, 14),
                accent: Rgb(255, 196, 120),
                grain: 0.05,
                vignette: 0.55,
                mono: false,
            },
            Style::Noir => Palette {
                sky: [Rgb(6, 6, 8), Rgb(40, 40, 44), Rgb(120, 118, 112)],
                light: Rgb(255, 246, 220),
                far: Rgb(52, 52, 56),
                near: Rgb(4, 4, 5),
                accent: Rgb(255, 236, 180),
                grain: 0.09,
                vignette: 0.75,
                mono: true,
            },
            Style::SciFi => Palette {
                sky: [Rgb(4, 2, 22), Rgb(44, 14, 92), Rgb(236, 70, 160)],
                light: Rgb(120, 230, 255),
                far: Rgb(70, 30, 120),
                near: Rgb(6, 4, 20),
                accent: Rgb(140, 250, 255),
                grain: 0.04,
                vignette: 0.5,
                mono: false,
            },
            Style::Horror => Palette {
                sky: [Rgb(4, 8, 8), Rgb(30, 44, 40), Rgb(120, 136, 120)],
                light: Rgb(236, 240, 214),
                far: Rgb(44, 58, 54),
                near: Rgb(2, 4, 4),
                accent: Rgb(200, 30, 24),
                grain: 0.08,
                vignette: 0.8,
                mono: false,
            },
            Style::Western => Palette {
                sky: [Rgb(70, 40, 90), Rgb(226, 104, 52), Rgb(255, 206, 110)],
                light: Rgb(255, 236, 160),
                far: Rgb(196, 92, 60),
                near: Rgb(40, 14, 10),
                accent: Rgb(255, 220, 140),
                grain: 0.07,
                vignette: 0.6,
                mono: false,
            },
            Style::Romance => Palette {
                sky: [Rgb(70, 40, 110), Rgb(226, 110, 140), Rgb(255, 196, 150)],
                light: Rgb(255, 236, 200),
                far: Rgb(180, 90, 130),
                near: Rgb(52, 16, 44),
                accent: Rgb(255, 220, 200),
                grain: 0.035,
                vignette: 0.45,
                mono: false,
            },
            Style::Fantasy => Palette {
                sky: [Rgb(20, 18, 60), Rgb(90, 60, 130), Rgb(255, 190, 120)],
                light: Rgb(255, 230, 170),
                far: Rgb(110, 90, 150),
                near: Rgb(14, 10, 30),
                accent: Rgb(255, 220, 150),
                grain: 0.04,
                vignette: 0.55,
                mono: false,
            },
            Style::Animation => Palette {
                sky: [Rgb(40, 140, 240), Rgb(110, 200, 255), Rgb(200, 240, 255)],
                light: Rgb(255, 226, 80),
                far: Rgb(120, 210, 120),
                near: Rgb(40, 150, 70),
                accent: Rgb(255, 255, 255),
                grain: 0.0,
                vignette: 0.2,
                mono: false,
            },
            Style::Documentary => Palette {
                sky: [Rgb(120, 140, 150), Rgb(180, 186, 180), Rgb(226, 214, 188)],
                light: Rgb(255, 246, 226),
                far: Rgb(120, 130, 128),
                near: Rgb(34, 38, 36),
                accent: Rgb(255, 246, 226),
                grain: 0.06,
                vignette: 0.45,
                mono: false,
            },
            Style::Comedy => Palette {
                sky: [Rgb(255, 190, 30), Rgb(255, 220, 70), Rgb(255, 246, 170)],
                light: Rgb(255, 255, 230),
                far: Rgb(255, 150, 40),
                near: Rgb(60, 30, 90),
                accent: Rgb(230, 40, 90),
                grain: 0.0,
                vignette: 0.15,
                mono: false,
            },
        }
    }

    /// Where this genre sets its title: the art keeps that part of the sheet quiet.
    pub(crate) fn title_placement(self) -> Placement {
        match self {
            Style::Thriller => Placement::Bottom,
            Style::Noir => Placement::Top,
            Style::SciFi => Placement::Bottom,
            Style::Horror => Placement::Top,
            Style::Western => Placement::Top,
            Style::Romance => Placement::Bottom,
            Style::Fantasy => Placement::Center,
            Style::Animation => Placement::Top,
            Style::Documentary => Placement::Bottom,
            Style::Comedy => Placement::Top,
        }
    }
}

impl fmt::Display for Style {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a group of [`CUES`] is looked for in the lowercased description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Find {
    /// Anywhere, inside longer words too. For scripts written without spaces between words
    /// (Chinese, Japanese, Thai); for Korean, whose particles join the noun (유령이, 공포영화);
    /// for Arabic and Hebrew, whose article and prepositions join it (الصحراء, בטירה), so
    /// only cues too long to hide inside an unrelated word; and for the English cues, which
    /// have always been matched so (robots, cyberpunk, haunted).
    Anywhere,
    /// As a whole word or phrase: letters, digits or marks on neither side. For short words
    /// in alphabetic scripts that other words contain: "amor" in "amortización" or "amora".
    Word,
    /// At the start of a word, with any ending: for languages that inflect or compound a noun
    /// (призрака, призраки; Gespensterhaus), with stems no unrelated word begins with.
    WordStart,
}

/// A style's cues: groups of words, each group looked for one way.
type Cues = &'static [(Find, &'static [&'static str])];

/// The words that steer [`Style::guess`], lowercase, in English and the languages people
/// write prompts in. Each style counts the cues found; a word counts once, so no cue may be
/// found inside another cue of its style (a test checks). Only words a native speaker would
/// use for the genre or its strongest motifs; a word that also commonly means something
/// else is left out, or listed in the longer form that is unambiguous.
#[rustfmt::skip]
const CUES: &[(Style, Cues)] = {
    use Find::{Anywhere, Word, WordStart};
    &[
        (Style::Noir, &[
            // English
            (Anywhere, &["noir", "detective", "1940s", "fedora", "femme fatale", "gangster"]),
            // Japanese
            (Anywhere, &["探偵", "ノワール", "ギャング"]),
            // Chinese (Simplified, Traditional)
            (Anywhere, &["黑色电影", "黑色電影", "侦探", "偵探", "黑帮", "黑幫"]),
            // Korean
            (Anywhere, &["누아르", "탐정", "갱스터"]),
            // Spanish
            (Word, &["cine negro", "gánster", "gángster"]),
            // Portuguese
            (Word, &["detetive", "detetives", "gângster"]),
            // French ("noir", "gangster", "femme fatale": the English cues find them)
            (Word, &["détective", "détectives"]),
            // German
            (WordStart, &["detektiv"]),
            // Russian
            (Word, &["нуар"]),
            (WordStart, &["детектив", "гангстер"]),
            // Arabic
            (Anywhere, &["محقق"]),
            // Hebrew
            (Anywhere, &["פילם נואר", "גנגסטר", "הבלש", "בלש פרטי"]),
            // Hindi
            (Word, &["डिटेक्टिव", "गैंगस्टर"]),
            // Thai
            (Anywhere, &["นักสืบ", "ฟิล์มนัวร์", "แก๊งสเตอร์"]),
        ]),
        (Style::SciFi, &[
            // English
            (Anywhere, &[
                "space", "robot", "alien", "cyber", "galaxy", "planet", "starship", "future",
                "android", "mars",
            ]),
            // Japanese and Chinese (the same characters)
            (Anywhere, &["宇宙", "未来", "銀河", "火星"]),
            // Japanese
            (Anywhere, &["ロボット", "エイリアン", "惑星", "サイバー", "アンドロイド"]),
            // Chinese (Simplified, Traditional)
            (Anywhere, &[
                "科幻", "太空", "机器人", "機器人", "外星", "未來", "银河", "行星", "星际", "星際",
            ]),
            // Korean
            (Anywhere, &["우주", "로봇", "외계인", "은하", "행성", "미래", "사이버", "공상과학"]),
            // Spanish (also Portuguese and Italian: futuro, marte)
            (Word, &[
                "espacio", "espacial", "extraterrestre", "extraterrestres", "galaxia", "galaxias",
                "futuro", "futurista", "ciencia ficción", "marte",
            ]),
            // Portuguese
            (Word, &["espaço", "galáxia", "galáxias", "ficção científica"]),
            // French ("espace": the English "space" finds it)
            (Word, &[
                "spatial", "spatiale", "galaxie", "planète", "planètes", "futur", "futuriste",
                "science-fiction",
            ]),
            // Italian
            (Word, &[
                "spazio", "spaziale", "galassia", "pianeta", "pianeti", "fantascienza", "astronave",
            ]),
            // German
            (WordStart, &["weltraum", "raumschiff", "außerirdisch", "zukunft"]),
            // Russian
            (WordStart, &[
                "космос", "космическ", "робот", "инопланет", "галактик", "планет", "кибер",
            ]),
            (Word, &["пришелец", "пришельцы", "фантастика", "будущее", "марс"]),
            // Arabic
            (Anywhere, &[
                "فضاء", "فضائي", "روبوت", "مجرة", "كوكب", "مستقبل", "خيال علمي", "المريخ",
            ]),
            // Hebrew
            (Anywhere, &[
                "חלל", "רובוט", "חייזר", "גלקסיה", "כוכב לכת", "עתיד", "מדע בדיוני", "מאדים",
            ]),
            // Hindi
            (Word, &[
                "अंतरिक्ष", "अन्तरिक्ष", "रोबोट", "एलियन", "आकाशगंगा", "ग्रह", "भविष्य",
                "विज्ञान कथा", "साइंस फिक्शन",
            ]),
            // Thai
            (Anywhere, &[
                "อวกาศ", "หุ่นยนต์", "เอเลี่ยน", "ต่างดาว", "กาแล็กซี", "ดาวเคราะห์", "อนาคต",
                "ไซไฟ", "ดาวอังคาร", "นิยายวิทยาศาสตร์",
            ]),
        ]),
        (Style::Horror, &[
            // English
            (Anywhere, &[
                "horror", "ghost", "haunted", "zombie", "vampire", "demon", "blood", "kraken",
                "monster", "witch",
            ]),
            // Japanese and Chinese (the same characters)
            (Anywhere, &["恐怖", "吸血鬼", "怪物", "魔女"]),
            // Japanese
            (Anywhere, &["ホラー", "幽霊", "お化け", "ゾンビ", "悪魔", "化け物", "呪い", "怖い"]),
            // Chinese (Simplified, Traditional); not 鬼 alone: 酒鬼, 胆小鬼, 鬼才…
            (Anywhere, &[
                "鬼屋", "闹鬼", "鬧鬼", "鬼魂", "鬼故事", "幽灵", "幽靈", "僵尸", "殭屍", "僵屍",
                "恶魔", "惡魔",
            ]),
            // Korean
            (Anywhere, &[
                "공포", "호러", "유령", "귀신", "흉가", "좀비", "뱀파이어", "흡혈귀", "악마",
                "마녀", "괴물",
            ]),
            // Spanish (also Portuguese and Italian: fantasma, vampiro, zombi)
            (Word, &[
                "terror", "fantasma", "fantasmas", "embrujada", "embrujado", "zombi", "zombis",
                "vampiro", "vampiros", "bruja", "brujas", "monstruo", "monstruos", "sangre",
            ]),
            // Portuguese
            (Word, &[
                "assombrada", "assombrado", "zumbi", "zumbis", "bruxa", "bruxas", "monstro",
                "monstros", "sangue",
            ]),
            // French
            (Word, &[
                "horreur", "épouvante", "fantôme", "fantômes", "hanté", "hantée", "sorcière",
                "sorcières", "monstre", "monstres", "démon", "démons",
            ]),
            // Italian
            (Word, &[
                "orrore", "fantasmi", "infestata", "stregata", "vampiri", "strega", "streghe",
                "mostro", "mostri",
            ]),
            // German
            (Word, &["geist", "vampir"]),
            (WordStart, &[
                "gespenst", "geister", "spuk", "hexe", "dämon", "blut", "grusel", "unheimlich",
            ]),
            // Russian
            (Word, &["ужас", "ужасы", "ужасов", "зомби", "демон", "демоны", "кровь"]),
            (WordStart, &[
                "хоррор", "призрак", "привидени", "вампир", "ведьм", "монстр", "проклят",
            ]),
            // Arabic
            (Anywhere, &[
                "رعب", "شبح", "أشباح", "اشباح", "مسكون", "زومبي", "مصاص دماء", "شيطان", "لعنة",
            ]),
            // Hebrew; not אימה alone, which hides in מתאימה
            (Anywhere, &[
                "סרט אימה", "סרטי אימה", "מפחיד", "רפאים", "זומבי", "ערפד", "מכשפה", "מפלצת",
                "מפלצות",
            ]),
            // Hindi
            (Word, &[
                "भूत", "भूतों", "भूतिया", "प्रेत", "डरावना", "डरावनी", "डरावने", "हॉरर", "चुड़ैल",
                "पिशाच",
            ]),
            // Thai (ผีเสื้อ, a butterfly, is set aside first: see NOT_CUES)
            (Anywhere, &[
                "ผี", "สยองขวัญ", "ซอมบี้", "แวมไพร์", "แม่มด", "ปีศาจ", "สัตว์ประหลาด", "หลอน",
            ]),
        ]),
        (Style::Western, &[
            // English
            (Anywhere, &["western", "cowboy", "sheriff", "outlaw", "desert", "frontier", "saloon"]),
            // Japanese and Chinese (the same characters)
            (Anywhere, &["西部", "荒野"]),
            // Japanese
            (Anywhere, &["カウボーイ", "保安官", "砂漠", "ガンマン", "サルーン"]),
            // Chinese (Simplified, Traditional); 牛仔裤 (jeans) is set aside: see NOT_CUES
            (Anywhere, &["牛仔", "警长", "警長", "沙漠", "亡命之徒"]),
            // Korean
            (Anywhere, &[
                "서부극", "웨스턴", "카우보이", "보안관", "사막", "무법자", "총잡이", "황야",
            ]),
            // Spanish
            (Word, &[
                "vaquero", "forajido", "forajidos", "desierto", "pistolero", "pistoleros",
                "salvaje oeste", "lejano oeste",
            ]),
            // Portuguese ("deserto", also Italian: the English "desert" finds it)
            (Word, &[
                "caubói", "caubóis", "xerife", "fora da lei", "pistoleiro", "faroeste",
                "velho oeste",
            ]),
            // French
            (Word, &["cow-boy", "cow-boys", "shérif", "hors-la-loi", "désert", "far west"]),
            // Italian
            (Word, &["sceriffo", "fuorilegge", "selvaggio west"]),
            // German
            (Word, &["wilde westen", "wilden westen"]),
            (WordStart, &["wüste", "revolverheld", "gesetzlos"]),
            // Russian
            (WordStart, &["вестерн", "ковбо", "шериф", "пустын"]),
            (Word, &["дикий запад", "диком западе", "салун"]),
            // Arabic
            (Anywhere, &[
                "صحراء", "راعي البقر", "رعاة البقر", "الغرب الأمريكي", "الغرب الأميركي",
                "خارج عن القانون",
            ]),
            // Hebrew; not מדבר (desert), which also reads "speaks"
            (Anywhere, &["מערבון", "קאובוי", "שריף", "פורע חוק", "המערב הפרוע"]),
            // Hindi
            (Word, &["वेस्टर्न", "काउबॉय", "रेगिस्तान", "मरुस्थल", "शेरिफ", "डाकू"]),
            // Thai
            (Anywhere, &["คาวบอย", "ทะเลทราย"]),
        ]),
        (Style::Romance, &[
            // English
            (Anywhere, &["love", "romance", "wedding", "kiss", "heart", "paris"]),
            // Japanese and Chinese (the same characters); not 愛 alone: 可愛い is "cute"
            (Anywhere, &["恋", "愛情", "結婚", "浪漫", "接吻"]),
            // Japanese
            (Anywhere, &["ロマンス", "デート", "花嫁"]),
            // Chinese (Simplified, Traditional)
            (Anywhere, &[
                "爱情", "戀", "结婚", "婚礼", "婚禮", "约会", "約會", "亲吻", "親吻", "情人",
            ]),
            // Korean
            (Anywhere, &["사랑", "로맨스", "결혼", "키스", "연인", "데이트"]),
            // Spanish (also Portuguese: amor, amores)
            (Word, &[
                "amor", "amores", "romántica", "romántico", "boda", "beso", "besos", "enamorados",
                "corazón",
            ]),
            // Portuguese
            (Word, &[
                "romântico", "romântica", "casamento", "beijo", "beijos", "apaixonados", "coração",
            ]),
            // French
            (Word, &[
                "amour", "amours", "amoureux", "amoureuse", "romantique", "mariage", "bisou",
                "bisous", "cœur", "coeur",
            ]),
            // Italian
            (Word, &[
                "amore", "amori", "romantico", "romantica", "matrimonio", "nozze", "bacio", "baci",
                "innamorati", "cuore",
            ]),
            // German; "liebe" whole, or it finds "lieber" (rather)
            (Word, &["liebe", "herz"]),
            (WordStart, &["liebes", "verliebt", "romantisch", "hochzeit", "kuss", "küss"]),
            // Russian
            (WordStart, &["любов", "романтик", "свадьб", "поцелу", "влюблен", "влюблён"]),
            (Word, &["любви", "сердце"]),
            // Arabic: حب is short enough to hide in صاحب or سحب, so only as a word
            (Anywhere, &["رومانسي", "زفاف", "عشق", "عشاق", "حبيب"]),
            (Word, &["حب", "الحب"]),
            // Hebrew
            (Anywhere, &["אהבה", "רומנטי", "חתונה", "נשיקה", "מאוהב"]),
            // Hindi
            (Word, &["प्यार", "प्रेम", "प्रेमी", "इश्क", "इश्क़", "मोहब्बत", "रोमांटिक", "शादी"]),
            // Thai; not รัก alone, which hides in รักษา (to treat, to keep)
            (Anywhere, &[
                "ความรัก", "คู่รัก", "หนังรัก", "ตกหลุมรัก", "โรแมนติก", "แต่งงาน", "จูบ",
            ]),
        ]),
        (Style::Fantasy, &[
            // English
            (Anywhere, &[
                "dragon", "wizard", "castle", "elf", "quest", "magic", "kingdom", "sword",
            ]),
            // Japanese and Chinese (the same characters)
            (Anywhere, &["魔法", "王国", "古城", "妖精", "魔王"]),
            // Japanese
            (Anywhere, &["ファンタジー", "ドラゴン", "エルフ", "勇者", "冒険", "魔術"]),
            // Chinese (Simplified, Traditional); not 龙 alone: 恐龙 (dinosaur), 李小龙…
            (Anywhere, &[
                "奇幻", "魔幻", "巨龙", "巨龍", "王國", "巫师", "巫師", "精灵", "精靈", "冒险",
                "冒險", "宝剑", "寶劍",
            ]),
            // Korean
            (Anywhere, &["판타지", "드래곤", "마법", "왕국", "엘프", "요정", "모험", "용사"]),
            // Spanish (also Portuguese and Italian: magia, mago, espada)
            (Word, &[
                "fantasía", "dragón", "mago", "magos", "hechicero", "castillo", "magia", "mágico",
                "mágica", "espada", "hada", "hadas",
            ]),
            // Portuguese (also Italian: fantasia)
            (Word, &["fantasia", "dragão", "dragões", "feiticeiro", "castelo", "fada", "fadas"]),
            // French
            (Word, &[
                "sorcier", "sorciers", "château", "magie", "magique", "épée", "fée", "fées",
                "quête",
            ]),
            // Italian
            (Word, &[
                "drago", "draghi", "maghi", "stregone", "castello", "spada", "fata", "cavaliere",
            ]),
            // German
            (Word, &["burg"]),
            (WordStart, &[
                "fantasy", "drache", "zauber", "königreich", "magisch", "schwert", "ritter",
            ]),
            // Russian
            (WordStart, &["дракон", "волшеб", "королевств", "эльф", "рыцар", "колдун"]),
            (Word, &["фэнтези", "маг", "меч", "фея"]),
            // Arabic; not مملكة (kingdom), which Saudis call their country
            (Anywhere, &["فانتازيا", "تنين", "ساحر", "سحر", "قلعة", "أسطور"]),
            // Hebrew
            (Anywhere, &["פנטזיה", "דרקון", "מכשף", "ממלכה", "קסם", "אביר"]),
            // Hindi
            (Word, &["ड्रैगन", "जादू", "जादूगर", "जादुई", "महल", "किला", "तलवार", "परी"]),
            // Thai
            (Anywhere, &["แฟนตาซี", "มังกร", "เวทมนตร์", "พ่อมด", "ปราสาท", "เอลฟ์", "นางฟ้า"]),
        ]),
        (Style::Animation, &[
            // English
            (Anywhere, &["cartoon", "animated", "pixar", "talking", "cute", "kids"]),
            // Japanese and Chinese (the same characters)
            (Anywhere, &["漫画", "可愛"]),
            // Japanese
            (Anywhere, &["アニメ", "マンガ", "かわいい", "子供", "しゃべる", "喋る"]),
            // Chinese (Simplified, Traditional)
            (Anywhere, &[
                "动画", "動畫", "卡通", "动漫", "動漫", "漫畫", "可爱", "儿童", "兒童", "孩子",
                "会说话", "會說話",
            ]),
            // Korean
            (Anywhere, &["애니메이션", "만화", "귀여운", "아이들", "어린이"]),
            // Spanish (also Portuguese: animado, animada, infantil)
            (Word, &[
                "animación", "animada", "animado", "dibujos animados", "caricatura", "niños",
                "infantil",
            ]),
            // Portuguese
            (Word, &["animação", "crianças", "fofo", "fofa"]),
            // French
            (Word, &[
                "animation", "dessin animé", "dessins animés", "mignon", "mignonne", "enfants",
            ]),
            // Italian
            (Word, &[
                "animazione", "cartone animato", "cartoni animati", "carino", "carina", "bambini",
            ]),
            // German
            (WordStart, &["zeichentrick", "trickfilm", "animations", "niedlich", "kinder"]),
            (Word, &["süß", "süße"]),
            // Russian
            (WordStart, &["мультфильм", "мультик", "анимаци", "детск"]),
            (Word, &["аниме", "дети"]),
            // Arabic
            (Anywhere, &["رسوم متحركة", "أنمي", "انمي", "أطفال", "اطفال"]),
            // Hebrew
            (Anywhere, &["אנימציה", "אנימה", "מצויר", "ילדים", "חמוד"]),
            // Hindi
            (Word, &["एनीमेशन", "कार्टून", "बच्चे", "बच्चों", "प्यारा", "प्यारी"]),
            // Thai
            (Anywhere, &["การ์ตูน", "แอนิเมช", "อนิเมะ", "น่ารัก", "เด็ก"]),
        ]),
        (Style::Documentary, &[
            // English
            (Anywhere, &["documentary", "true story", "real life", "nature", "history of"]),
            // Japanese
            (Anywhere, &["ドキュメンタリー", "実話", "実録"]),
            // Chinese (Simplified, Traditional)
            (Anywhere, &[
                "纪录片", "记录片", "紀錄片", "纪实", "紀實", "真实故事", "真實故事", "真人真事",
            ]),
            // Korean
            (Anywhere, &["다큐", "실화"]),
            // Spanish
            (Word, &["documental", "documentales", "historia real", "hechos reales", "naturaleza"]),
            // Portuguese ("natureza": the English "nature" finds it)
            (Word, &["documentário", "história real", "fatos reais", "factos reais"]),
            // French ("nature": the English cue finds it)
            (Word, &["documentaire", "histoire vraie", "faits réels"]),
            // Italian
            (Word, &["documentario", "storia vera", "fatti reali", "natura"]),
            // German
            (WordStart, &["dokumentar"]),
            (Word, &["doku", "wahre geschichte", "wahren geschichte", "natur"]),
            // Russian
            (WordStart, &["документальн"]),
            (Word, &["реальная история", "реальных событиях", "природа", "природы"]),
            // Arabic
            (Anywhere, &["وثائقي", "قصة حقيقية", "أحداث حقيقية", "طبيعة"]),
            // Hebrew
            (Anywhere, &["תיעודי", "דוקו", "סיפור אמיתי"]),
            // Hindi
            (Word, &["डॉक्यूमेंट्री", "वृत्तचित्र", "सच्ची कहानी", "सत्य घटना", "प्रकृति"]),
            // Thai
            (Anywhere, &["สารคดี", "เรื่องจริง"]),
        ]),
        (Style::Comedy, &[
            // English
            (Anywhere, &["comedy", "funny", "hilarious", "wacky", "mishap", "office party"]),
            // Japanese and Chinese (the same characters)
            (Anywhere, &["喜劇", "爆笑", "滑稽"]),
            // Japanese
            (Anywhere, &["コメディ", "お笑い", "ギャグ", "ドタバタ"]),
            // Chinese (Traditional 喜劇 is above)
            (Anywhere, &["喜剧", "搞笑", "幽默"]),
            // Korean
            (Anywhere, &["코미디", "코믹", "웃긴", "개그"]),
            // Spanish
            (Word, &["comedia", "divertida", "divertido", "graciosa", "gracioso", "chistoso"]),
            // Portuguese
            (Word, &["comédia", "engraçado", "engraçada"]),
            // French
            (Word, &["comédie", "drôle", "drôles", "marrant", "marrante"]),
            // Italian
            (Word, &["commedia", "divertente", "comico", "comica", "esilarante"]),
            // German
            (WordStart, &["komödie", "lustig", "witzig", "komisch", "urkomisch"]),
            // Russian
            (WordStart, &["комеди", "смешн", "юмор", "уморительн"]),
            // Arabic
            (Anywhere, &["كوميدي", "مضحك"]),
            // Hebrew
            (Anywhere, &["קומדיה", "מצחיק"]),
            // Hindi
            (Word, &["कॉमेडी", "हास्य", "मज़ेदार", "मजेदार"]),
            // Thai
            (Anywhere, &["ตลก", "คอมเมดี้"]),
        ]),
        (Style::Thriller, &[
            // English
            (Anywhere, &["thriller", "heist", "spy", "conspiracy", "chase", "hostage"]),
            // Japanese and Chinese (the same characters)
            (Anywhere, &["人質", "陰謀", "暗殺"]),
            // Japanese
            (Anywhere, &["スリラー", "サスペンス", "スパイ", "強盗", "追跡"]),
            // Chinese (Simplified, Traditional)
            (Anywhere, &[
                "惊悚", "驚悚", "悬疑", "懸疑", "间谍", "間諜", "人质", "阴谋", "抢劫", "搶劫",
                "追捕", "暗杀", "特工",
            ]),
            // Korean
            (Anywhere, &["스릴러", "서스펜스", "스파이", "인질", "음모", "추격", "암살", "테러"]),
            // Spanish (also French, Italian, Portuguese: suspense, terrorista)
            (Word, &[
                "suspense", "suspenso", "espía", "espías", "conspiración", "rehén", "rehenes",
                "atraco", "persecución", "asesino", "terrorista", "terroristas",
            ]),
            // Portuguese (also Italian: assassino)
            (Word, &[
                "espião", "espiões", "conspiração", "refém", "reféns", "assalto", "perseguição",
                "assassino",
            ]),
            // French
            (Word, &[
                "espion", "espions", "complot", "otage", "otages", "braquage", "poursuite", "tueur",
            ]),
            // Italian
            (Word, &["spia", "spie", "complotto", "ostaggio", "ostaggi", "rapina", "inseguimento"]),
            // German
            (WordStart, &["spion", "verschwörung", "geisel", "überfall", "verfolgung", "mörder"]),
            // Russian
            (WordStart, &[
                "триллер", "шпион", "заговор", "заложник", "ограблени", "убийц", "террорист",
            ]),
            (Word, &["погоня"]),
            // Arabic
            (Anywhere, &[
                "تشويق", "جاسوس", "مؤامرة", "رهينة", "رهائن", "سرقة", "مطاردة", "إرهاب", "ارهاب",
            ]),
            // Hebrew
            (Anywhere, &[
                "מותחן", "ריגול", "קונספירציה", "בן ערובה", "בני ערובה", "מרדף", "רוצח", "מחבל",
            ]),
            // Hindi
            (Word, &[
                "थ्रिलर", "जासूस", "जासूसी", "साज़िश", "साजिश", "बंधक", "डकैती", "पीछा", "हत्यारा",
                "आतंकवादी",
            ]),
            // Thai
            (Anywhere, &["ระทึกขวัญ", "สายลับ", "ตัวประกัน", "สมคบคิด", "ปล้น", "ไล่ล่า", "ฆาตกร"]),
        ]),
    ]
};

/// Words that contain a cue but mean something else, set aside before the cues are looked
/// for.
const NOT_CUES: &[&str] = &[
    // Thai: a butterfly (ผี, "ghost", + เสื้อ, "shirt")
    "ผีเสื้อ",
    // Chinese: terrorist, terrorism, terror attack (恐怖 is "horror")
    "恐怖分子",
    "恐怖份子",
    "恐怖主义",
    "恐怖主義",
    "恐怖袭击",
    "恐怖襲擊",
    // Chinese: jeans (牛仔 is "cowboy")
    "牛仔裤",
    "牛仔褲",
];

/// The description as the cues are looked for in it: lowercase, with [`NOT_CUES`] set aside.
fn cue_text(description: &str) -> String {
    let mut text = description.to_lowercase();
    for word in NOT_CUES {
        if text.contains(word) {
            text = text.replace(word, " ");
        }
    }
    text
}

/// Every cue of every style in one automaton, so a description is read once whatever the
/// number of cues (it is read on the ack path of every `/poster`; looking for each cue in
/// turn cost about a quarter of the ack's own CPU under load, BENCHMARKS.md).
struct CueFinder {
    automaton: AhoCorasick,
    /// Per pattern: the index of its style in [`CUES`], and how it is looked for.
    cues: Vec<(usize, Find)>,
}

impl CueFinder {
    fn get() -> &'static CueFinder {
        static FINDER: LazyLock<CueFinder> = LazyLock::new(CueFinder::new);
        &FINDER
    }

    fn new() -> CueFinder {
        let mut patterns = Vec::new();
        let mut cues = Vec::new();
        for (i, (_, groups)) in CUES.iter().enumerate() {
            for (find, words) in groups.iter() {
                for word in words.iter() {
                    patterns.push(*word);
                    cues.push((i, *find));
                }
            }
        }
        let automaton = AhoCorasick::new(&patterns)
            .expect("the cues are a few thousand bytes, far inside the automaton's limits");
        CueFinder { automaton, cues }
    }

    /// How many cues of each style (in [`CUES`] order) `text` holds, each cue counted once:
    /// what [`cue_count`] finds for every style, in one pass.
    fn counts(&self, text: &str) -> [usize; CUES.len()] {
        let mut found = vec![false; self.cues.len()];
        let mut counts = [0; CUES.len()];
        for m in self.automaton.find_overlapping_iter(text) {
            let id = m.pattern().as_usize();
            let (style, find) = self.cues[id];
            if !found[id] && fits(text, m.start(), m.end(), find) {
                found[id] = true;
                counts[style] += 1;
            }
        }
        counts
    }
}

/// How many of a style's cues `text` holds.
#[cfg(test)]
fn cue_count(text: &str, groups: Cues) -> usize {
    groups
        .iter()
        .map(|(find, cues)| cues.iter().filter(|c| found(text, c, *find)).count())
        .sum()
}

/// Whether `cue` is in `text` the way `find` says.
#[cfg(test)]
fn found(text: &str, cue: &str, find: Find) -> bool {
    text.match_indices(cue)
        .any(|(at, _)| fits(text, at, at + cue.len(), find))
}

/// Whether a cue found at `text[start..end]` stands there the way `find` says.
fn fits(text: &str, start: usize, end: usize, find: Find) -> bool {
    if find == Find::Anywhere {
        return true;
    }
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    !before.is_some_and(in_word) && (find == Find::WordStart || !after.is_some_and(in_word))
}

/// Whether `c` belongs to a word: letters and digits of any script, and the marks written
/// inside words that are not counted as letters (combining accents, Devanagari's virama and
/// nukta, the zero-width joiners).
fn in_word(c: char) -> bool {
    c.is_alphanumeric()
        || matches!(c,
            '\u{0300}'..='\u{036F}' | '\u{0900}'..='\u{0963}' | '\u{0966}'..='\u{097F}'
            | '\u{200C}' | '\u{200D}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Style::ALL {
            assert_eq!(Style::parse(s.name()), Some(s));
        }
        assert_eq!(Style::parse("SciFi"), Some(Style::SciFi));
        assert_eq!(Style::parse("musical"), None);
        for p in Placement::ALL {
            assert_eq!(Placement::parse(p.name()), Some(p));
            let json = serde_json::to_string(&p).expect("serialises");
            assert_eq!(json, format!("\"{}\"", p.name()));
        }
        assert_eq!(Placement::parse(" Centre "), Some(Placement::Center));
        assert_eq!(Placement::parse("middle"), None);
    }

    /// The one-pass finder counts what looking for each cue in turn counts: on every cue of
    /// every style, alone and in a sentence, and on words that hold cues of several styles.
    #[test]
    fn the_automaton_counts_what_each_cue_alone_finds() {
        let mut texts: Vec<String> = vec![
            "a detective and a ghost on a starship in the desert".into(),
            "una historia de amor en Madrid, amortización".into(),
            "幽霊屋敷の夜 宇宙を旅するロボット 牛仔裤".into(),
            "Gespensterhaus призраки détectives".into(),
        ];
        for (_, groups) in CUES {
            for (_, cues) in groups.iter() {
                for cue in cues.iter() {
                    texts.push((*cue).to_owned());
                    texts.push(format!("x{cue}x and {cue}s, ({cue})"));
                }
            }
        }
        for text in texts {
            let text = cue_text(&text);
            let one_pass = CueFinder::get().counts(&text);
            let each: Vec<usize> = CUES.iter().map(|(_, g)| cue_count(&text, g)).collect();
            assert_eq!(one_pass.to_vec(), each, "{text}");
        }
    }

    #[test]
    fn guesses_follow_the_words() {
        assert_eq!(
            Style::guess("a lone cowboy rides into a dusty town"),
            Style::Western
        );
        assert_eq!(Style::guess("robots on a starship"), Style::SciFi);
        assert_eq!(Style::guess("a quiet afternoon"), Style::default());
    }

    /// Every cue is written lowercase, is found in its own text, and is found there by no
    /// other cue of its style: a word in a description counts once.
    #[test]
    fn every_cue_finds_itself_and_only_itself() {
        let mut wrong = Vec::new();
        for (style, groups) in CUES {
            for (_, cues) in groups.iter() {
                for cue in cues.iter() {
                    if cue_text(cue) != *cue || cue_count(cue, groups) != 1 {
                        wrong.push(format!("{style}: {cue}"));
                    }
                }
            }
        }
        assert!(wrong.is_empty(), "{wrong:?}");
    }

    #[test]
    fn guesses_read_the_languages_people_write_in() {
        let cases = [
            // Japanese
            ("幽霊屋敷の夜", Style::Horror),
            ("宇宙を旅するロボット", Style::SciFi),
            ("かわいい猫のアニメ", Style::Animation),
            // Chinese, Simplified and Traditional
            ("一座闹鬼的老房子", Style::Horror),
            ("沙漠里的牛仔", Style::Western),
            ("巴黎的愛情故事", Style::Romance),
            ("搶劫銀行的間諜", Style::Thriller),
            // Korean
            ("유령이 나오는 집", Style::Horror),
            ("우주를 떠도는 로봇", Style::SciFi),
            // Spanish
            ("una historia de amor en Madrid", Style::Romance),
            (
                "una película de terror en una casa embrujada",
                Style::Horror,
            ),
            // Portuguese
            ("uma casa assombrada no interior", Style::Horror),
            ("um caubói no velho oeste", Style::Western),
            // French
            ("une histoire d'amour à Paris", Style::Romance),
            ("un fantôme dans l'escalier", Style::Horror),
            // Italian
            ("un drago sopra il castello", Style::Fantasy),
            ("una commedia divertente in ufficio", Style::Comedy),
            // German
            ("ein Gespensterhaus im Nebel", Style::Horror),
            ("eine Liebesgeschichte in Wien", Style::Romance),
            ("ein Raumschiff der Außerirdischen", Style::SciFi),
            // Russian
            ("Призраки старого дома", Style::Horror),
            ("Ковбой в пустыне", Style::Western),
            ("Шпион и заложники", Style::Thriller),
            // Arabic
            ("قافلة الصحراء", Style::Western),
            ("قصة حب في القاهرة", Style::Romance),
            ("بيت مسكون بالأشباح", Style::Horror),
            // Hebrew
            ("רוח רפאים בבית ישן", Style::Horror),
            ("סרט מדע בדיוני על חייזרים", Style::SciFi),
            // Hindi
            ("एक भूतिया हवेली", Style::Horror),
            ("जादूगर और ड्रैगन", Style::Fantasy),
            // Thai
            ("บ้านผีสิงกลางป่า", Style::Horror),
            ("หนังสารคดีเรื่องจริง", Style::Documentary),
        ];
        for (description, style) in cases {
            assert_eq!(Style::guess(description), style, "{description}");
        }
    }

    /// A short cue inside a longer, unrelated word of an alphabetic script does not count, nor
    /// does a word that contains a cue but means something else.
    #[test]
    fn cues_inside_other_words_do_not_count() {
        let defaults = [
            // Spanish: amortisation; Portuguese: a blackberry pie (amor: love)
            "la amortización de la hipoteca",
            "uma torta de amora",
            // German: "I would rather have a dog" (Liebe: love)
            "ich hätte lieber einen Hund",
            // Arabic: the restaurant's owner (حب: love)
            "صاحب المطعم",
            // Hindi: memories of the past (भूत: ghost)
            "भूतकाल की यादें",
            // Russian: a demonstration in the square (демон: demon)
            "демонстрация на площади",
            // Thai: a butterfly in the garden (ผี: ghost)
            "ผีเสื้อในสวน",
            // Chinese: a terrorist (恐怖: horror)
            "恐怖分子",
        ];
        for description in defaults {
            assert_eq!(Style::guess(description), Style::default(), "{description}");
        }
        // Spanish: "terror" is the horror genre, "terrorista" a thriller's villain.
        assert_eq!(Style::guess("un terrorista y un rehén"), Style::Thriller);
    }

    #[test]
    fn words_are_found_on_word_boundaries_only_where_asked() {
        assert!(found("d'amour", "amour", Find::Word));
        assert!(found("«amor»", "amor", Find::Word));
        assert!(!found("amora", "amor", Find::Word));
        assert!(found("gespensterhaus", "gespenst", Find::WordStart));
        assert!(!found("das hausgespenst", "gespenst", Find::WordStart));
        // A Devanagari virama or nukta continues a word.
        assert!(!found("इश्क़", "इश्क", Find::Word));
        assert!(found("幽霊屋敷", "幽霊", Find::Anywhere));
    }

    #[test]
    fn a_description_without_cues_gets_the_default() {
        assert_eq!(
            Style::guess("東京の夜 a neon city at night"),
            Style::default()
        );
        assert_eq!(Style::guess("Un après-midi tranquille"), Style::default());
        assert_eq!(Style::guess(""), Style::default());
    }
}
