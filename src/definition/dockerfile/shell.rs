//! Instruction arguments to words: a small shell lexer (quotes, the escape character,
//! `$...` and backtick substitutions kept and marked dynamic, command separators,
//! redirections and comments dropped) and the JSON exec form (`["bash", "-c", "..."]`).
//! Every character of a word keeps the byte offset it was written at.

/// One shell word: the text with quotes removed, each character with the byte offset (in
/// the instruction's arguments) it was written at.
#[derive(Clone, Debug, Default)]
pub(super) struct Word {
    pub(super) chars: Vec<(char, usize)>,
    /// Holds `$VAR`, `${...}`, `$(...)` or a backtick substitution: not known statically.
    pub(super) dynamic: bool,
    /// Offset of the word's first character as written (an opening quote included).
    pub(super) start: usize,
}

impl Word {
    fn new(start: usize) -> Self {
        Self {
            chars: Vec::new(),
            dynamic: false,
            start,
        }
    }

    pub(super) fn text(&self) -> String {
        self.chars.iter().map(|(c, _)| c).collect()
    }

    /// The word from its `n`th character on, starting where that character was written.
    pub(super) fn tail(&self, n: usize) -> Word {
        let chars = self.chars.get(n..).unwrap_or_default().to_vec();
        let start = chars.first().map_or(self.start, |(_, o)| *o);
        Word {
            chars,
            dynamic: self.dynamic,
            start,
        }
    }
}

/// Words of Dockerfile arguments (`FROM`, `ARG`, `COPY`): quotes and the escape character
/// honoured, no shell operators.
pub(super) fn split_words(text: &str, escape: char) -> Vec<Word> {
    let input: Vec<(char, usize)> = text.char_indices().map(|(o, c)| (c, o)).collect();
    lex(&input, false, escape).into_iter().flatten().collect()
}

/// Split into words and, with `shell`, into simple commands at `&&`, `||`, `;`, `|`, `&`,
/// newlines and parentheses; comments and redirections are dropped.
pub(super) fn lex(input: &[(char, usize)], shell: bool, escape: char) -> Vec<Vec<Word>> {
    let mut lexer = Lexer {
        commands: Vec::new(),
        words: Vec::new(),
        word: None,
        drop_next: false,
    };
    let mut k = 0;
    while let Some(&(c, offset)) = input.get(k) {
        let next = input.get(k + 1).map(|(c, _)| *c);
        if shell && c == '#' && lexer.word.is_none() {
            while input.get(k).is_some_and(|(c, _)| *c != '\n') {
                k += 1;
            }
            continue;
        }
        match c {
            ' ' | '\t' | '\r' => {
                lexer.finish_word();
                k += 1;
            }
            '\n' => {
                lexer.finish_word();
                if shell {
                    lexer.finish_command();
                }
                k += 1;
            }
            '&' if shell && next == Some('>') => {
                lexer.finish_word();
                k = redirection(input, k + 1, &mut lexer);
            }
            ';' | '&' | '|' | '(' | ')' if shell => {
                lexer.finish_word();
                lexer.finish_command();
                k += 1;
            }
            '<' | '>' if shell => {
                let fd = lexer.word.as_ref().is_some_and(|w| {
                    !w.chars.is_empty() && w.chars.iter().all(|(c, _)| c.is_ascii_digit())
                });
                if fd {
                    lexer.word = None;
                } else {
                    lexer.finish_word();
                }
                k = redirection(input, k, &mut lexer);
            }
            '\'' => {
                let word = lexer.word.get_or_insert_with(|| Word::new(offset));
                k += 1;
                while let Some(&(c, o)) = input.get(k) {
                    k += 1;
                    if c == '\'' {
                        break;
                    }
                    word.chars.push((c, o));
                }
            }
            '"' => {
                let word = lexer.word.get_or_insert_with(|| Word::new(offset));
                k += 1;
                while let Some(&(c, o)) = input.get(k) {
                    match c {
                        '"' => {
                            k += 1;
                            break;
                        }
                        c if c == escape => match input.get(k + 1) {
                            Some(&(n, no))
                                if matches!(n, '$' | '`' | '"' | '\n') || n == escape =>
                            {
                                if n != '\n' {
                                    word.chars.push((n, no));
                                }
                                k += 2;
                            }
                            _ => {
                                word.chars.push((c, o));
                                k += 1;
                            }
                        },
                        '$' => k = dollar(input, k, word),
                        '`' if shell => k = backtick(input, k, word),
                        _ => {
                            word.chars.push((c, o));
                            k += 1;
                        }
                    }
                }
            }
            '$' => {
                let word = lexer.word.get_or_insert_with(|| Word::new(offset));
                k = dollar(input, k, word);
            }
            '`' if shell => {
                let word = lexer.word.get_or_insert_with(|| Word::new(offset));
                k = backtick(input, k, word);
            }
            c if c == escape => {
                let word = lexer.word.get_or_insert_with(|| Word::new(offset));
                if let Some(&(n, no)) = input.get(k + 1)
                    && n != '\n'
                {
                    word.chars.push((n, no));
                }
                k += 2;
            }
            _ => {
                lexer
                    .word
                    .get_or_insert_with(|| Word::new(offset))
                    .chars
                    .push((c, offset));
                k += 1;
            }
        }
    }
    lexer.finish_word();
    lexer.finish_command();
    lexer.commands
}

struct Lexer {
    commands: Vec<Vec<Word>>,
    words: Vec<Word>,
    word: Option<Word>,
    /// The next word is the target of a redirection.
    drop_next: bool,
}

impl Lexer {
    fn finish_word(&mut self) {
        if let Some(word) = self.word.take() {
            if self.drop_next {
                self.drop_next = false;
            } else {
                self.words.push(word);
            }
        }
    }

    fn finish_command(&mut self) {
        self.drop_next = false;
        if !self.words.is_empty() {
            self.commands.push(std::mem::take(&mut self.words));
        }
    }
}

/// Skip a redirection operator at `k` (`>`, `>>`, `<`, `>&2`, `2>&1`, `&>`, ...); its target
/// word is dropped. Returns the index after the operator.
fn redirection(input: &[(char, usize)], mut k: usize, lexer: &mut Lexer) -> usize {
    let mut last = None;
    while let Some(&(c, _)) = input.get(k) {
        if !matches!(c, '<' | '>' | '&' | '|') || (c == '|' && last != Some('>')) {
            break;
        }
        last = Some(c);
        k += 1;
    }
    if last == Some('&') {
        while input
            .get(k)
            .is_some_and(|(c, _)| c.is_ascii_digit() || *c == '-')
        {
            k += 1;
        }
        if !input
            .get(k)
            .is_some_and(|(c, _)| c.is_whitespace() || matches!(c, ';' | '&' | '|'))
            && k < input.len()
        {
            lexer.drop_next = true;
        }
    } else {
        lexer.drop_next = true;
    }
    k
}

/// A `$` at `k`: `$(...)`, `${...}`, `$NAME` or a special parameter, copied into `word`.
fn dollar(input: &[(char, usize)], k: usize, word: &mut Word) -> usize {
    let next = input.get(k + 1).map(|(c, _)| *c);
    match next {
        Some('(') => {
            word.dynamic = true;
            word.chars.push(input[k]);
            balanced(input, k + 1, '(', ')', word)
        }
        Some('{') => {
            word.dynamic = true;
            word.chars.push(input[k]);
            balanced(input, k + 1, '{', '}', word)
        }
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {
            word.dynamic = true;
            word.chars.push(input[k]);
            let mut j = k + 1;
            while let Some(&(c, o)) = input.get(j) {
                if !(c.is_ascii_alphanumeric() || c == '_') {
                    break;
                }
                word.chars.push((c, o));
                j += 1;
            }
            j
        }
        Some(c) if c.is_ascii_digit() || matches!(c, '@' | '*' | '#' | '?' | '$' | '!' | '-') => {
            word.dynamic = true;
            word.chars.push(input[k]);
            word.chars.push(input[k + 1]);
            k + 2
        }
        _ => {
            word.chars.push(input[k]);
            k + 1
        }
    }
}

/// Copy a bracketed group opening at `k` into `word`; returns the index after its end.
fn balanced(
    input: &[(char, usize)],
    mut k: usize,
    open: char,
    close: char,
    word: &mut Word,
) -> usize {
    let mut depth = 0usize;
    while let Some(&(c, o)) = input.get(k) {
        word.chars.push((c, o));
        k += 1;
        if c == open {
            depth += 1;
        } else if c == close {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                break;
            }
        } else if c == '\'' {
            while let Some(&(q, qo)) = input.get(k) {
                word.chars.push((q, qo));
                k += 1;
                if q == '\'' {
                    break;
                }
            }
        } else if c == '\\'
            && let Some(&escaped) = input.get(k)
        {
            word.chars.push(escaped);
            k += 1;
        }
    }
    k
}

/// A backtick command substitution at `k`, copied into `word`.
fn backtick(input: &[(char, usize)], mut k: usize, word: &mut Word) -> usize {
    word.dynamic = true;
    word.chars.push(input[k]);
    k += 1;
    while let Some(&(c, o)) = input.get(k) {
        word.chars.push((c, o));
        k += 1;
        if c == '`' {
            break;
        }
        if c == '\\'
            && let Some(&escaped) = input.get(k)
        {
            word.chars.push(escaped);
            k += 1;
        }
    }
    k
}

/// A JSON array of strings (exec form), each string as a word with source offsets;
/// `None` when the text is not one (docker then reads it as shell form).
pub(super) fn json_array(text: &str) -> Option<Vec<Word>> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let is_ws = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
    let skip_ws = |mut k: usize| {
        while chars.get(k).is_some_and(|(_, c)| is_ws(*c)) {
            k += 1;
        }
        k
    };
    let mut k = skip_ws(0);
    if chars.get(k)?.1 != '[' {
        return None;
    }
    k = skip_ws(k + 1);
    let mut words = Vec::new();
    if chars.get(k)?.1 == ']' {
        return (skip_ws(k + 1) == chars.len()).then_some(words);
    }
    loop {
        let &(quote_offset, quote) = chars.get(k)?;
        if quote != '"' {
            return None;
        }
        let mut word = Word::new(quote_offset + 1);
        k += 1;
        loop {
            let &(offset, c) = chars.get(k)?;
            k += 1;
            match c {
                '"' => break,
                '\\' => {
                    let (_, e) = *chars.get(k)?;
                    k += 1;
                    let decoded = match e {
                        '"' | '\\' | '/' => e,
                        'b' => '\u{8}',
                        'f' => '\u{c}',
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        'u' => {
                            let unit = hex4(&chars, k)?;
                            k += 4;
                            if (0xD800..0xDC00).contains(&unit) {
                                if chars.get(k)?.1 != '\\' || chars.get(k + 1)?.1 != 'u' {
                                    return None;
                                }
                                let low = hex4(&chars, k + 2)?;
                                k += 6;
                                char::decode_utf16([unit, low]).next()?.ok()?
                            } else {
                                char::from_u32(u32::from(unit))?
                            }
                        }
                        _ => return None,
                    };
                    word.chars.push((decoded, offset));
                }
                c if u32::from(c) < 0x20 => return None,
                c => word.chars.push((c, offset)),
            }
        }
        words.push(word);
        k = skip_ws(k);
        match chars.get(k)?.1 {
            ',' => k = skip_ws(k + 1),
            ']' => break,
            _ => return None,
        }
    }
    (skip_ws(k + 1) == chars.len()).then_some(words)
}

fn hex4(chars: &[(usize, char)], k: usize) -> Option<u16> {
    let digits: String = chars.get(k..k + 4)?.iter().map(|(_, c)| c).collect();
    u16::from_str_radix(&digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(words: &[Word]) -> Vec<String> {
        words.iter().map(Word::text).collect()
    }

    fn shell(text: &str) -> Vec<Vec<Word>> {
        let input: Vec<(char, usize)> = text.char_indices().map(|(o, c)| (c, o)).collect();
        lex(&input, true, '\\')
    }

    #[test]
    fn words_lose_their_quotes_and_keep_where_they_were_written() {
        let words = split_words(r#"a "b c" d\ e 'f'g"#, '\\');
        assert_eq!(texts(&words), ["a", "b c", "d e", "fg"]);
        let starts: Vec<usize> = words.iter().map(|w| w.start).collect();
        assert_eq!(starts, [0, 2, 8, 13]);
        assert_eq!(words[1].tail(2).start, 5);
    }

    #[test]
    fn commands_split_at_operators_without_redirections_or_comments() {
        let commands = shell("pip install a >/dev/null 2>&1 && echo \"$X\" | tee log # c\nb;c");
        let commands: Vec<Vec<String>> = commands.iter().map(|c| texts(c)).collect();
        assert_eq!(
            commands,
            [
                vec!["pip", "install", "a"],
                vec!["echo", "$X"],
                vec!["tee", "log"],
                vec!["b"],
                vec!["c"],
            ]
        );
        let echo = &shell("echo $X `y` $(z) x")[0];
        let dynamic: Vec<bool> = echo.iter().map(|w| w.dynamic).collect();
        assert_eq!(dynamic, [false, true, true, true, false]);
    }

    #[test]
    fn exec_form_is_a_json_array_of_strings_or_nothing() {
        let words = json_array(r#"[ "bash", "-c", "x\u0041\n" ]"#).unwrap();
        assert_eq!(texts(&words), ["bash", "-c", "xA\n"]);
        assert_eq!(words[1].start, 11);
        assert!(json_array("[]").unwrap().is_empty());
        for shell_form in ["[bash]", r#"["a",]"#, r#"["a"] b"#, "'a'", r#"["\x"]"#] {
            assert!(json_array(shell_form).is_none(), "{shell_form}");
        }
    }
}
