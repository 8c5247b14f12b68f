## البريد الإلكتروني: النشرة وتأكيد الاشتراك (src/email/render.rs).
## تصل الأعداد مرتين: $count هو العدد الخام ويختار صيغة الجمع،
## و$number هو العدد نفسه منسقًا حسب اللغة.
## للعربية ست صيغ: zero وone وtwo وfew (3–10) وmany (11–99) وother (100 وما فوق).

email-digest-daily = النشرة اليومية
email-digest-weekly = النشرة الأسبوعية
email-digest-instant = نُشر حديثًا
email-digest-subject = { $digest }: { $count ->
    [zero] لا توجد مقالات جديدة
    [one] مقال جديد واحد
    [two] مقالان جديدان
    [few] { $number } مقالات جديدة
    [many] { $number } مقالًا جديدًا
   *[other] { $number } مقال جديد
}
email-digest-intro = { $count ->
    [zero] لا توجد مقالات جديدة حتى { $date }.
    [one] إليك المقال الجديد حتى { $date }.
    [two] إليك المقالين الجديدين حتى { $date }.
    [few] إليك { $number } مقالات جديدة حتى { $date }.
    [many] إليك { $number } مقالًا جديدًا حتى { $date }.
   *[other] إليك { $number } مقال جديد حتى { $date }.
}
email-greeting = مرحبًا،
email-greeting-name = مرحبًا { $name }،
email-greeting-organisation = مرحبًا بالأصدقاء في { $organisation }،
email-greeting-contact = مرحبًا { $name } ({ $organisation })،
email-item-fallback = لم يُترجم بعد. متوفر باللغة { $language }.
email-item-corrected = مُصحَّح
email-item-translations = لغات أخرى:
email-footer-why-subscriber = تصلك هذه الرسالة لأنك اشتركت في أخبار { $site } وأكّدت عنوان بريدك الإلكتروني.
email-footer-why-contact = تصلك هذه الرسالة لأنك جهة الاتصال لدى { $organisation }، إحدى المنظمات الشريكة لنا.
email-footer-preferences = تغيير اللغة أو المواضيع أو وتيرة الإرسال
email-footer-unsubscribe = إلغاء الاشتراك
email-footer-site = زيارة موقعنا
email-confirm-subject = يُرجى تأكيد اشتراكك في { $site }
email-confirm-heading = بقيت خطوة واحدة
email-confirm-intro = طلب أحدهم، ونأمل أن تكون أنت، تلقّي النشرات الإخبارية من { $site } عبر البريد الإلكتروني.
email-confirm-nothing-yet = لن نرسل إليك أي شيء قبل أن تؤكد عنوانك.
email-confirm-button = تأكيد اشتراكي
email-confirm-expiry = { $count ->
    [zero] تنتهي صلاحية هذا الرابط خلال أقل من ساعة.
    [one] تنتهي صلاحية هذا الرابط خلال ساعة واحدة.
    [two] تنتهي صلاحية هذا الرابط خلال ساعتين.
    [few] تنتهي صلاحية هذا الرابط خلال { $number } ساعات.
    [many] تنتهي صلاحية هذا الرابط خلال { $number } ساعة.
   *[other] تنتهي صلاحية هذا الرابط خلال { $number } ساعة.
}
email-confirm-ignore = إذا لم تطلب ذلك، فتجاهل هذه الرسالة ببساطة: لن يتم اشتراكك ولن تصلك منا أي رسائل أخرى.
email-confirm-link-fallback = إذا لم يعمل الزر، فانسخ هذا العنوان والصقه في متصفحك:

# The list name in List-Id and the mail client's list view.
email-list-name = موجز الشؤون الخارجية لقوانغدونغ
