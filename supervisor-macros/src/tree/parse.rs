//! The `supervisor!` syntax, as written, with spans.
//!
//! ```text
//! tree     := header* child*                      (comma separated)
//! header   := name = "bot" | strategy = "one_for_all" | intensity(max_restarts = 10, within = "60s")
//!           | shutdown_timeout = "5s" | auto_shutdown = "any_significant"
//!           | max_dynamic_children = 16
//!           | crate = "::renamed::supervisor"        (root only)
//!           | mailbox orders: Order(capacity = 1024, delivery = "at_least_once",
//!                 max_deliveries = 3, dead_letters = poison, drain_on_shutdown = false)
//!                                                    (root only; in children's arguments
//!                                                    `orders.inbox()` for its one consumer,
//!                                                    `orders.sender()` for a producer,
//!                                                    `orders.external()` for a sender the
//!                                                    tree does not order)
//!
//! A header key (and any `key = literal`) is always an option, wherever it stands, so that a
//! misspelt or misplaced option is reported as one instead of becoming a `key = expr` child.
//! child    := path(args..)                        a #[service] factory
//!           | key: path(args..)                   the same under another name
//!           | key = |ctx| async move { .. }       a closure service
//!           | key = expr                          any ChildSpec, renamed to key
//!           | supervisor key(header*) { child* }  a nested supervisor
//!           | pool key(max = N) = path            a pool of a #[service], started with
//!                                                 `start_child(key, path::Service(args..))`
//!           | pool key(max = N) = |args: T| spec  a pool made by a closure
//!           followed by any of: with(policy options, as in #[service]), after(sibling, ..)
//!           and requires(sibling, ..)
//! ```

use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitInt, LitStr, Path, Token};

#[derive(Default)]
pub(crate) struct Header {
    pub(crate) items: Vec<HeaderItem>,
}

/// The supervisor options, in the order the docs list them.
pub(crate) const HEADER_KEYS: &[&str] = &[
    "name",
    "strategy",
    "intensity",
    "shutdown_timeout",
    "auto_shutdown",
    "max_dynamic_children",
    "crate",
];

pub(crate) enum HeaderItem {
    /// `key = value` for the keys that take one; the value is checked when resolving, so a
    /// value of the wrong kind gets a message about the option.
    Value(Ident, Expr),
    Intensity(Ident, Option<LitInt>, Option<LitStr>),
    /// `crate = "::path"`, root only.
    Crate(Token![crate], LitStr),
    /// A key that is no option (possibly with a value or a list), reported with suggestions.
    Unknown(Ident),
    /// An option written after the first child.
    Late(Ident),
    /// `mailbox name: Type(options)`.
    Mailbox(MailboxDecl),
}

/// `mailbox name: Type(key = value, ..)`, as written.
pub(crate) struct MailboxDecl {
    pub(crate) keyword: Ident,
    pub(crate) name: Ident,
    pub(crate) ty: syn::Type,
    pub(crate) options: Vec<(Ident, Expr)>,
}

/// What a child's expressions do with the tree's mailboxes (filled in when they are
/// rewritten, before resolving).
#[derive(Default)]
pub(crate) struct MailboxUses {
    /// `name.inbox()`: the mailboxes it consumes, where.
    pub(crate) consumes: Vec<(Ident, proc_macro2::Span)>,
    /// `name.sender()`: the mailboxes it sends into, where.
    pub(crate) sends: Vec<(Ident, proc_macro2::Span)>,
}

pub(crate) struct Tree {
    pub(crate) header: Header,
    pub(crate) children: Vec<Child>,
}

pub(crate) struct Child {
    /// The name siblings use in `after(..)` and `requires(..)`.
    pub(crate) key: Ident,
    pub(crate) kind: ChildKind,
    /// The contents of each `with(..)`: policy options, parsed with `#[service]`'s grammar.
    pub(crate) overrides: Vec<proc_macro2::TokenStream>,
    pub(crate) after: Vec<Ident>,
    pub(crate) requires: Vec<Ident>,
    pub(crate) mailboxes: MailboxUses,
}

pub(crate) enum ChildKind {
    /// `path(args)`, `alias` when written `key: path(args)`.
    Service {
        path: Path,
        args: Punctuated<Expr, Token![,]>,
        alias: bool,
    },
    Closure(Expr),
    Spec(Expr),
    Nested(Tree),
    /// `pool key(max = N) = template`.
    Pool {
        max: Option<Expr>,
        /// Options other than `max`, reported as unknown.
        unknown: Vec<Ident>,
        template: PoolTemplate,
    },
}

pub(crate) enum PoolTemplate {
    /// A #[service]: each child is `path::into_spec` of the value `start_child` gets.
    Service(Path),
    /// `|args: T| spec`.
    Closure(Expr),
}

impl Parse for Tree {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut header = Header::default();
        let mut children = Vec::new();
        while !input.is_empty() {
            if is_header_item(input, children.is_empty()) {
                let item: HeaderItem = input.parse()?;
                header.items.push(match item {
                    HeaderItem::Value(key, _) | HeaderItem::Intensity(key, ..)
                        if !children.is_empty() =>
                    {
                        HeaderItem::Late(key)
                    }
                    item => item,
                });
            } else {
                children.push(input.parse()?);
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(Tree { header, children })
    }
}

/// Whether the next item is an option rather than a child: a header key (`intensity` with
/// its list), `crate = ..`, any `key = literal`, and, before the first child, a `key = value`
/// whose key is close to an option's (a typo) unless the value is a closure.
fn is_header_item(input: ParseStream, before_first_child: bool) -> bool {
    if input.peek(Token![crate]) {
        return true;
    }
    let fork = input.fork();
    let Ok(key) = fork.parse::<Ident>() else {
        return false;
    };
    let name = key.to_string();
    if name == "mailbox" {
        return fork.peek(Ident) && fork.peek2(Token![:]) && !fork.peek2(Token![::]);
    }
    if name == "intensity" {
        return fork.peek(syn::token::Paren);
    }
    if !fork.peek(Token![=]) || fork.peek(Token![==]) {
        return false;
    }
    if HEADER_KEYS.contains(&name.as_str()) {
        return true;
    }
    let _ = fork.parse::<Token![=]>();
    match fork.parse::<Expr>() {
        Ok(Expr::Lit(_)) => true,
        Ok(Expr::Closure(_)) => false,
        Ok(_) => {
            before_first_child
                && crate::common::suggest::closest(&name, HEADER_KEYS.iter().copied()).is_some()
        }
        Err(_) => false,
    }
}

impl Parse for HeaderItem {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(Token![crate]) {
            let token = input.parse()?;
            input.parse::<Token![=]>()?;
            return Ok(HeaderItem::Crate(token, input.parse()?));
        }
        let key: Ident = input.parse()?;
        let name = key.to_string();
        if name == "intensity" && input.peek(syn::token::Paren) {
            return parse_intensity(key, input);
        }
        if name == "mailbox" && input.peek(Ident) && input.peek2(Token![:]) {
            return parse_mailbox(key, input).map(HeaderItem::Mailbox);
        }
        if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            let value: Expr = input.parse()?;
            return Ok(
                if HEADER_KEYS.contains(&name.as_str()) && name != "intensity" {
                    HeaderItem::Value(key, value)
                } else {
                    HeaderItem::Unknown(key)
                },
            );
        }
        if input.peek(syn::token::Paren) {
            let _: proc_macro2::Group = input.parse()?;
        }
        Ok(HeaderItem::Unknown(key))
    }
}

fn parse_intensity(key: Ident, input: ParseStream) -> syn::Result<HeaderItem> {
    let content;
    syn::parenthesized!(content in input);
    let (mut max, mut within) = (None, None);
    while !content.is_empty() {
        let inner: Ident = content.parse()?;
        content.parse::<Token![=]>()?;
        match inner.to_string().as_str() {
            "max_restarts" => max = Some(content.parse()?),
            "within" => within = Some(content.parse()?),
            other => {
                return Err(syn::Error::new(
                    inner.span(),
                    crate::common::suggest::unknown(
                        "`intensity` option",
                        other,
                        "`intensity` options",
                        &["max_restarts", "within"],
                    ),
                ));
            }
        }
        if !content.is_empty() {
            content.parse::<Token![,]>()?;
        }
    }
    Ok(HeaderItem::Intensity(key, max, within))
}

/// `name: Type(options)`: the type is every token up to the options' parentheses, which
/// end the item (a type's own parentheses and commas stay inside its `<..>` or groups).
fn parse_mailbox(keyword: Ident, input: ParseStream) -> syn::Result<MailboxDecl> {
    let name: Ident = input.parse()?;
    input.parse::<Token![:]>()?;
    let mut tokens: Vec<proc_macro2::TokenTree> = Vec::new();
    let mut depth = 0usize;
    while !(input.is_empty() || depth == 0 && input.peek(Token![,])) {
        let token: proc_macro2::TokenTree = input.parse()?;
        if let proc_macro2::TokenTree::Punct(punct) = &token {
            match punct.as_char() {
                '<' => depth += 1,
                '>' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        tokens.push(token);
    }
    let options = match tokens.pop() {
        Some(proc_macro2::TokenTree::Group(group))
            if group.delimiter() == proc_macro2::Delimiter::Parenthesis && !tokens.is_empty() =>
        {
            group
        }
        _ => {
            return Err(syn::Error::new(
                name.span(),
                format!(
                    "a mailbox needs its message type and capacity: `mailbox {name}: Order(capacity = 1024)`"
                ),
            ));
        }
    };
    let ty: syn::Type = syn::parse2(tokens.into_iter().collect())?;
    let parser = |content: ParseStream| {
        let mut options = Vec::new();
        while !content.is_empty() {
            let key: Ident = content.parse()?;
            content.parse::<Token![=]>()?;
            options.push((key, content.parse::<Expr>()?));
            if !content.is_empty() {
                content.parse::<Token![,]>()?;
            }
        }
        Ok(options)
    };
    let options = syn::parse::Parser::parse2(parser, options.stream())?;
    Ok(MailboxDecl {
        keyword,
        name,
        ty,
        options,
    })
}

impl Parse for Child {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let (key, kind) = if is_keyword(input, "pool", false) {
            input.parse::<Ident>()?;
            let key: Ident = input.parse()?;
            let (mut max, mut unknown) = (None, Vec::new());
            if input.peek(syn::token::Paren) {
                let content;
                syn::parenthesized!(content in input);
                while !content.is_empty() {
                    let option: Ident = content.parse()?;
                    content.parse::<Token![=]>()?;
                    let value: Expr = content.parse()?;
                    if option == "max" {
                        max = Some(value);
                    } else {
                        unknown.push(option);
                    }
                    if !content.is_empty() {
                        content.parse::<Token![,]>()?;
                    }
                }
            }
            if !input.peek(Token![=]) {
                return Err(syn::Error::new(
                    key.span(),
                    "a pool needs its template: `pool key(max = 8) = service_fn_name` for a #[service], or `= |args: T| child_spec` for a closure",
                ));
            }
            input.parse::<Token![=]>()?;
            let template = match input.parse::<Expr>()? {
                closure @ Expr::Closure(_) => PoolTemplate::Closure(closure),
                Expr::Path(path) if path.qself.is_none() => PoolTemplate::Service(path.path),
                Expr::Call(call) => {
                    return Err(syn::Error::new_spanned(
                        &call.args,
                        "a pool's children get their arguments from `start_child`: name the #[service] without arguments (`= order_fill`), then `start_child(\"bot/fills\", order_fill::Service(args..), ..)`",
                    ));
                }
                other => {
                    return Err(syn::Error::new_spanned(
                        other,
                        "a pool's template is a #[service] fn's name (`= order_fill`) or a closure (`= |args: T| child_spec`)",
                    ));
                }
            };
            (
                key,
                ChildKind::Pool {
                    max,
                    unknown,
                    template,
                },
            )
        } else if is_keyword(input, "supervisor", false) {
            input.parse::<Ident>()?;
            let key: Ident = input.parse()?;
            let mut header = Header::default();
            if input.peek(syn::token::Paren) {
                let content;
                syn::parenthesized!(content in input);
                while !content.is_empty() {
                    header.items.push(content.parse()?);
                    if !content.is_empty() {
                        content.parse::<Token![,]>()?;
                    }
                }
            }
            let body;
            syn::braced!(body in input);
            let mut nested: Tree = body.parse()?;
            nested.header.items.extend(header.items);
            (key, ChildKind::Nested(nested))
        } else if input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
            let key: Ident = input.parse()?;
            input.parse::<Token![:]>()?;
            let (path, args) = service_call(input)?;
            (
                key,
                ChildKind::Service {
                    path,
                    args,
                    alias: true,
                },
            )
        } else if input.peek(Ident) && input.peek2(Token![=]) {
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let expr: Expr = input.parse()?;
            let kind = match expr {
                Expr::Closure(_) => ChildKind::Closure(expr),
                other => ChildKind::Spec(other),
            };
            (key, kind)
        } else {
            let (path, args) = service_call(input)?;
            let key = path
                .segments
                .last()
                .map(|s| s.ident.clone())
                .ok_or_else(|| input.error("expected a child"))?;
            (
                key,
                ChildKind::Service {
                    path,
                    args,
                    alias: false,
                },
            )
        };
        let mut child = Child {
            key,
            kind,
            overrides: Vec::new(),
            after: Vec::new(),
            requires: Vec::new(),
            mailboxes: MailboxUses::default(),
        };
        while is_keyword(input, "with", true)
            || is_keyword(input, "after", true)
            || is_keyword(input, "requires", true)
        {
            let which: Ident = input.parse()?;
            let content;
            syn::parenthesized!(content in input);
            if which == "after" {
                let deps = Punctuated::<Ident, Token![,]>::parse_terminated(&content)?;
                child.after.extend(deps);
            } else if which == "requires" {
                let deps = Punctuated::<Ident, Token![,]>::parse_terminated(&content)?;
                child.requires.extend(deps);
            } else {
                child.overrides.push(content.parse()?);
            }
        }
        Ok(child)
    }
}

/// `word` followed by a parenthesised list (`then_paren`) or by a name.
fn is_keyword(input: ParseStream, word: &str, then_paren: bool) -> bool {
    let fork = input.fork();
    match fork.parse::<Ident>() {
        Ok(ident) if ident == word => {
            if then_paren {
                fork.peek(syn::token::Paren)
            } else {
                fork.peek(Ident)
            }
        }
        _ => false,
    }
}

fn service_call(input: ParseStream) -> syn::Result<(Path, Punctuated<Expr, Token![,]>)> {
    let path: Path = input.call(Path::parse_mod_style)?;
    if !input.peek(syn::token::Paren) {
        return Err(syn::Error::new_spanned(
            &path,
            "expected a child: `service_fn_name(args..)` for a #[service], `key = |ctx| async move { .. }` for a closure, `supervisor key(..) { .. }` for a nested supervisor, or `pool key(max = N) = service_fn_name` for a pool",
        ));
    }
    let content;
    syn::parenthesized!(content in input);
    let args = Punctuated::parse_terminated(&content)?;
    Ok((path, args))
}
