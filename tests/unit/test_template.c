/* tests/unit/test_template.c - the template engine: variables, escaping, sections over
 * arrays, objects and plain values, inverted sections, comments, the standalone-line
 * rule, and parse errors with their line numbers. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <tern/template.h>

/* Compiles src, renders it with the JSON text ctx and compares with want. */
static void expect_render(const char *src, const char *ctx, const char *want)
{
    char err[128];
    tern_template *t = tern_template_compile(src, strlen(src), err, sizeof err);
    cr_assert_not_null(t, "compile %s: %s", src, err);
    json_error_t jerr;
    json_t *c = json_loads(ctx, JSON_DECODE_ANY, &jerr);
    cr_assert_not_null(c, "context %s: %s", ctx, jerr.text);
    size_t len;
    char *out = tern_template_render(t, c, &len);
    cr_assert_not_null(out);
    cr_expect_str_eq(out, want, "template %s", src);
    cr_expect_eq(len, strlen(want));
    free(out);
    json_decref(c);
    tern_template_free(t);
}

/* Compiling src must fail with exactly the message want. */
static void expect_error(const char *src, const char *want)
{
    char err[128] = "unchanged";
    tern_template *t = tern_template_compile(src, strlen(src), err, sizeof err);
    cr_expect_null(t, "%s compiled", src);
    tern_template_free(t);
    cr_expect_str_eq(err, want, "template %s", src);
}

Test(template, plain_text_and_variables)
{
    expect_render("", "{}", "");
    expect_render("no tags at all", "{}", "no tags at all");
    expect_render("Hello, {{name}}!", "{\"name\":\"World\"}", "Hello, World!");
    expect_render("{{ name }}|{{missing}}|", "{\"name\":\"x\"}", "x||");
    expect_render("{{i}} {{r}} {{t}} {{f}} {{n}} {{a}} {{o}}",
                  "{\"i\":-42,\"r\":0.5,\"t\":true,\"f\":false,\"n\":null,\"a\":[1],\"o\":{}}",
                  "-42 0.5 true false   ");
    /* integers are formatted by hand: the edges */
    expect_render("{{z}} {{one}} {{max}} {{min}}",
                  "{\"z\":0,\"one\":7,\"max\":9223372036854775807,"
                  "\"min\":-9223372036854775808}",
                  "0 7 9223372036854775807 -9223372036854775808");
    expect_render("{{a.b.c}}/{{a.x.c}}", "{\"a\":{\"b\":{\"c\":\"deep\"}}}", "deep/");
    expect_render("{ {single} } }}", "{}", "{ {single} } }}");
}

Test(template, escaping)
{
    const char *ctx = "{\"s\":\"<a href=\\\"x\\\">Tom & Jerry's</a>\"}";
    expect_render("{{s}}", ctx, "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
    expect_render("{{{s}}}", ctx, "<a href=\"x\">Tom & Jerry's</a>");
    expect_render("{{& s}}", ctx, "<a href=\"x\">Tom & Jerry's</a>");
    /* UTF-8 passes through untouched */
    expect_render("{{s}}", "{\"s\":\"\u30d5\u30ec \u2014 ok\"}", "\u30d5\u30ec \u2014 ok");
    char out[64];
    cr_expect_eq(tern_html_escape(out, "a<b", 3), 6);
    cr_expect_str_eq(out, "a&lt;b");
}

Test(template, sections)
{
    const char *ctx = "{\"items\":[{\"id\":1,\"name\":\"a\"},{\"id\":2,\"name\":\"<b>\"}],"
                      "\"title\":\"T\",\"empty\":[],\"user\":{\"name\":\"Ann\"},\"yes\":true,"
                      "\"no\":false,\"nums\":[1,2,3],\"str\":\"\"}";
    /* an array: once per element, the element pushed; outer names still visible */
    expect_render("{{#items}}[{{id}}:{{name}}:{{title}}]{{/items}}", ctx,
                  "[1:a:T][2:&lt;b&gt;:T]");
    expect_render("{{#nums}}{{.}},{{/nums}}", ctx, "1,2,3,");
    expect_render("{{#empty}}never{{/empty}}{{#missing}}never{{/missing}}", ctx, "");
    /* an object: pushed once */
    expect_render("{{#user}}Hi {{name}} from {{title}}{{/user}}", ctx, "Hi Ann from T");
    /* plain values: truthiness */
    expect_render("{{#yes}}Y{{/yes}}{{#no}}N{{/no}}{{#str}}S{{/str}}{{#title}}{{title}}{{/title}}",
                  ctx, "YT");
    /* inverted sections */
    expect_render("{{^empty}}none{{/empty}}{{^items}}none{{/items}}{{^no}}!{{/no}}", ctx,
                  "none!");
    /* nesting */
    expect_render("{{#items}}{{#user}}{{name}}{{id}};{{/user}}{{/items}}", ctx, "Ann1;Ann2;");
    /* comments leave nothing */
    expect_render("a{{! a comment with {braces} }}b", ctx, "ab");
}

Test(template, standalone_lines_leave_no_blank_lines)
{
    expect_render("<ul>\n  {{#l}}\n  <li>{{.}}</li>\n  {{/l}}\n</ul>\n", "{\"l\":[1,2]}",
                  "<ul>\n  <li>1</li>\n  <li>2</li>\n</ul>\n");
    expect_render("a\n{{! note }}\nb", "{}", "a\nb");
    /* a tag sharing its line with text is not standalone */
    expect_render("x {{#t}}y{{/t}}\n", "{\"t\":true}", "x y\n");
}

Test(template, compile_once_render_many)
{
    const char *src = "{{#rows}}<td>{{v}}</td>{{/rows}}";
    tern_template *t = tern_template_compile(src, strlen(src), NULL, 0);
    cr_assert_not_null(t);
    for (int i = 0; i < 100; i++) {
        json_t *c = json_pack("{s:[{s:i},{s:i}]}", "rows", "v", i, "v", -i);
        char *out = tern_template_render(t, c, NULL);
        char want[64];
        snprintf(want, sizeof want, "<td>%d</td><td>%d</td>", i, -i);
        cr_expect_str_eq(out, want);
        free(out);
        json_decref(c);
    }
    tern_template_free(t);
}

Test(template, parse_errors_name_the_line)
{
    expect_error("line one\n{{name", "line 2: unclosed tag '{{'");
    expect_error("a\nb\n{{{raw}}", "line 3: unclosed tag '{{{'");
    expect_error("{{}}", "line 1: empty tag");
    expect_error("\n{{bad name}}", "line 2: bad name in tag 'bad name'");
    expect_error("{{a..b}}", "line 1: bad name in tag 'a..b'");
    expect_error("{{#a}}\n\n{{/b}}", "line 3: section opened on line 1 closed by 'b'");
    expect_error("x\n{{/a}}", "line 2: closing tag without a section: 'a'");
    expect_error("\n\n{{#list}}\n{{x}}", "line 3: section never closed: '{{#list}}'");
    /* nesting beyond 32 levels is refused rather than overflowing the render stack */
    char deep[33 * 6 + 1] = "";
    for (int i = 0; i < 33; i++)
        strcat(deep, "{{#a}}");
    expect_error(deep, "line 1: sections nested too deep at 'a'");
}

Test(template, dotted_sections_close_by_the_same_name)
{
    expect_render("{{#a.b}}{{c}}{{/a.b}}", "{\"a\":{\"b\":{\"c\":7}}}", "7");
    expect_render("{{#l}}{{#.}}[{{.}}]{{/.}}{{/l}}", "{\"l\":[\"x\",\"\"]}", "[x]");
}
