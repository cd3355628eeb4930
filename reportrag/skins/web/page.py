"""What every page of the app carries: its stylesheet and the script in its ``<head>``."""

CSS = """
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
"""

# A click on a citation number in the chat picks that citation in the list beside it, which shows the evidence
# in place; the link itself stays a shareable "?cite=<anchor>" for a new tab, or for a copy of the link.
HEAD = """
<script>
window.reportragCiteClicks = true;
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("a.rr-cite");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  const ident = new URL(link.href, location.href).searchParams.get("cite");
  for (const input of document.querySelectorAll("#rr-citations input[type=radio]")) {
    if (input.value === ident) {
      event.preventDefault(); event.stopPropagation();
      input.click();
      return;
    }
  }
}, true);
</script>
"""
