## इमेल: समाचार सारांश र सदस्यता पुष्टि (src/email/render.rs)।
## सङ्ख्या दुई पटक आउँछ: $count ले बहुवचन रूप छान्छ, $number त्यही सङ्ख्या भाषाअनुसार ढाँचामा मिलाइएको हो।

email-digest-daily = दैनिक सारांश
email-digest-weekly = साप्ताहिक सारांश
email-digest-instant = भर्खरै प्रकाशित
email-digest-subject = { $digest }: { $count ->
    [one] एउटा नयाँ लेख
   *[other] { $number } नयाँ लेख
}
email-digest-intro = { $count ->
    [one] { $date } सम्मको एउटा नयाँ लेख यहाँ छ।
   *[other] { $date } सम्मका { $number } नयाँ लेखहरू यहाँ छन्।
}
email-greeting = नमस्ते,
email-greeting-name = नमस्ते { $name } जी,
email-greeting-organisation = { $organisation } का साथीहरू, नमस्ते,
email-greeting-contact = नमस्ते { $name } जी ({ $organisation }),
email-item-fallback = अझै अनुवाद भएको छैन। { $language } मा उपलब्ध छ।
email-item-corrected = सच्याइएको
email-item-translations = अन्य भाषामा पनि:
email-footer-why-subscriber = तपाईंले { $site } मा समाचारको सदस्यता लिएर आफ्नो ठेगाना पुष्टि गर्नुभएकाले यो इमेल पाउनुभएको हो।
email-footer-why-contact = तपाईं हाम्रो साझेदार संस्था { $organisation } को सम्पर्क व्यक्ति हुनुभएकाले यो इमेल पाउनुभएको हो।
email-footer-preferences = भाषा, विषय वा पठाउने आवृत्ति बदल्नुहोस्
email-footer-unsubscribe = सदस्यता रद्द गर्नुहोस्
email-footer-site = हाम्रो वेबसाइट हेर्नुहोस्
email-confirm-subject = कृपया { $site } को सदस्यता पुष्टि गर्नुहोस्
email-confirm-heading = अब एउटा मात्र चरण बाँकी छ
email-confirm-intro = कसैले (आशा छ, तपाईंले नै) { $site } का समाचार सारांश इमेलमार्फत पाउन अनुरोध गर्नुभएको छ।
email-confirm-nothing-yet = तपाईंले पुष्टि नगरेसम्म हामी तपाईंलाई केही पनि पठाउने छैनौं।
email-confirm-button = मेरो सदस्यता पुष्टि गर्नुहोस्
email-confirm-expiry = { $count ->
    [one] यो लिङ्क एक घण्टापछि समाप्त हुन्छ।
   *[other] यो लिङ्क { $number } घण्टापछि समाप्त हुन्छ।
}
email-confirm-ignore = यो अनुरोध तपाईंले गर्नुभएको होइन भने यो इमेललाई वास्ता नगर्नुहोस्: तपाईंको सदस्यता हुने छैन र हामीबाट फेरि कुनै इमेल आउने छैन।
email-confirm-link-fallback = बटनले काम गरेन भने यो ठेगाना आफ्नो ब्राउजरमा कपी गर्नुहोस्:

# The list name in List-Id and the mail client's list view.
email-list-name = ग्वाङ्दोङ परराष्ट्र मामिला सारांश
