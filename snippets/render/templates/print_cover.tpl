{# The print page's cover (mkdocs-print-site-plugin's cover_page_template), from mkdocs.yml's
   site_name, extra.lecture (who made the lecture, as the lecture credits them) and copyright. #}
{% set lecture = config.extra.lecture %}
<div class="print-cover">
  <h1>{{ config.site_name }}</h1>
  <p class="print-cover-subtitle">Lecture notes, with outputs rendered from tested code</p>
  <p class="print-cover-lecture">After the lecture <em>{{ lecture.title }}</em> of the {{ lecture.series }}</p>
  <dl class="print-cover-credits">
    <dt>Lecture</dt><dd>{{ lecture.author }}</dd>
    <dt>Materials on LLMs</dt><dd>{{ lecture.materials }}</dd>
    <dt>Discussion and editorial work</dt><dd>{{ lecture.editorial }}</dd>
    <dt>Published</dt><dd>{{ lecture.published }}</dd>
  </dl>
  <p class="print-cover-copyright">{{ config.copyright }}</p>
</div>
