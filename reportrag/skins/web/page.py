"""What every page of the app carries: its stylesheet and the script in its ``<head>``."""

# One font stack for the whole app, of fonts the system has, each with every glyph the reports use: a web font
# missing a glyph (a bold capital A was drawn from another font) mixes two typefaces in one word.
FONT = 'system-ui, "DejaVu Sans", "Noto Sans", "Liberation Sans", Arial, sans-serif'

CSS = """
body, .gradio-container, .gradio-container .prose, .rr-answer, .rr-evidence, .rr-verify, .rr-read {
  font-family: %FONT% !important; }
.rr-answer .rr-scope a.rr-clear-filters { margin-left: .6em; font-style: normal; font-size: .9em; cursor: pointer; }
.rr-answer blockquote { margin: 0 0 .6em 0; padding-left: .8em; border-left: 3px solid #8aa; }
.rr-answer .rr-report { font-weight: 600; margin: .8em 0 .3em 0; }
.rr-answer .rr-sources { font-size: .85em; color: #555; }
.rr-answer .rr-unverified { color: #a40; font-style: italic; }
a.rr-cite { font-weight: 600; text-decoration: none; cursor: pointer; }
.rr-evidence p { white-space: pre-wrap; margin: .4em 0; }
.rr-evidence .rr-quoted { background: #fafaf0; }
.rr-evidence mark { background: #ffe066; color: #000; padding: 0 1px; }
.rr-evidence .rr-crumb { font-size: .85em; color: #555; }
.rr-evidence .rr-pn, .rr-read .rr-pn { font-weight: 600; color: #456; margin-right: .4em; }
.rr-ok { color: #161; font-weight: 600; } .rr-bad { color: #a10; font-weight: 600; }
.rr-rel { color: #555; } .rr-rel-strong { color: #124; font-weight: 600; } .rr-rel-weak { color: #876; }
.rr-diff del { background: #fdd; } .rr-diff ins { background: #dfd; text-decoration: none; }
.rr-diff .rr-elided { color: #666; cursor: help; } .rr-parts { font-size: .9em; }
.rr-read p { white-space: pre-wrap; } .rr-read .rr-fn { font-size: .85em; color: #444; }
.rr-co-table td { vertical-align: top; } .rr-co-ref { font-weight: 600; white-space: nowrap; }
.rr-co-place { font-size: .85em; color: #555; } .rr-co-snippet { font-size: .9em; }
.rr-co-status { margin: 0 0 .3em 0; padding-left: .6em; border-left: 3px solid #8aa; } .rr-co-none { color: #888; }
""".replace("%FONT%", FONT)

# A click on a citation number in the chat picks that citation in the list beside it, which shows the evidence
# in place (on a narrow screen, where the panel sits below the chat, the page scrolls to it); the link itself
# stays a shareable "?cite=<anchor>" for a new tab, or for a copy of the link. "Clear filters" on an answer's
# scope line presses the hidden button that resets the filters. A new answer is shown from its top: the chat
# scrolls to where it starts, not to its end.
NARROW = 800  # px: below this width the evidence panel is below the chat
HEAD = """
<script>
window.reportragCiteClicks = true;
document.addEventListener("click", (event) => {
  if (!event.target.closest || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  if (event.target.closest("a.rr-clear-filters")) {
    event.preventDefault(); event.stopPropagation();
    document.querySelector("#rr-clear-filters")?.click();
    return;
  }
  const link = event.target.closest("a.rr-cite");
  if (!link) return;
  const ident = new URL(link.href, location.href).searchParams.get("cite");
  for (const input of document.querySelectorAll("#rr-citations input[type=radio]")) {
    if (input.value === ident) {
      event.preventDefault(); event.stopPropagation();
      input.click();
      if (window.innerWidth < %NARROW%) {
        setTimeout(() => document.querySelector("#rr-evidence")?.scrollIntoView({block: "start"}), 200);
      }
      return;
    }
  }
}, true);
let reportragLastAnswer = null;
new MutationObserver(() => {
  const all = document.querySelectorAll("#rr-chat .rr-answer");
  const last = all[all.length - 1];
  if (!last || last === reportragLastAnswer) return;
  reportragLastAnswer = last;
  let box = last.parentElement;
  while (box && !(box.scrollHeight > box.clientHeight && /(auto|scroll)/.test(getComputedStyle(box).overflowY))) {
    box = box.parentElement;
  }
  if (box) box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
}).observe(document.documentElement, {childList: true, subtree: true});
</script>
""".replace("%NARROW%", str(NARROW))
