channel-news-title = أخبار الشؤون الخارجية لمقاطعة قوانغدونغ
channel-news-description = أخبار مكتب الشؤون الخارجية لمقاطعة قوانغدونغ: المدن الصديقة والتبادلات والتعاون.
channel-science-tech-title = التعاون الدولي لقوانغدونغ في العلوم والتكنولوجيا
channel-science-tech-description = التعاون مع المناطق الشريكة في مجالات العلوم والتكنولوجيا والطاقة الجديدة والطب الحيوي والروبوتات.
site-title = الشؤون الخارجية لقوانغدونغ — موجزات الأخبار
landing-intro = اشترك في أخبارنا عبر قارئ الموجزات لديك. تتوفر كل قناة بعدة لغات.
landing-feeds-heading = الموجزات
landing-other-languages = لغات أخرى
landing-opml = جميع الموجزات بصيغة OPML
feed-format-rss = RSS 2.0
feed-format-atom = Atom 1.0
feed-format-json = JSON Feed 1.1
article-count = { $count ->
    [zero] لا توجد مقالات
    [one] مقال واحد
    [two] مقالان
    [few] { $count } مقالات
    [many] { $count } مقالًا
   *[other] { $count } مقال
}
article-other-languages = اقرأ بلغات أخرى
article-published = نُشر في { $date }
article-updated = حُدّث في { $date }
article-fallback = هذا المقال غير متوفر بلغتك بعد، لذا يُعرض باللغة { $language }.
article-machine-translated = أُعدّت هذه الترجمة آليًا.
article-correction = تصحيح: { $note }
article-retracted = تم سحب هذا المقال.
article-back = العودة إلى جميع المقالات
topic-friendship-cities = المدن الصديقة
topic-science-technology = العلوم والتكنولوجيا
topic-new-energy = الطاقة الجديدة
topic-bio-medicine = الطب الحيوي
topic-robotics = الروبوتات
topic-education = التعليم
topic-urban-management = الإدارة الحضرية
topic-olympics-2032 = بريسبان 2032
topic-youth-culture = الشباب والثقافة
