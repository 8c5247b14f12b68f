channel-news-title = ग्वाङ्दोङ वैदेशिक मामिला समाचार
channel-news-description = ग्वाङ्दोङ प्रान्तको वैदेशिक मामिला कार्यालयका समाचार: मैत्री सहर, आदानप्रदान र सहकार्य।
channel-science-tech-title = ग्वाङ्दोङको अन्तर्राष्ट्रिय विज्ञान तथा प्रविधि सहकार्य
channel-science-tech-description = विज्ञान तथा प्रविधि, नयाँ ऊर्जा, जैव-चिकित्सा र रोबोटिक्सका क्षेत्रमा साझेदार क्षेत्रहरूसँगको सहकार्य।
site-title = ग्वाङ्दोङ वैदेशिक मामिला — फिडहरू
landing-intro = आफ्नो फिड रिडरमा हाम्रा समाचारको सदस्यता लिनुहोस्। प्रत्येक च्यानल विभिन्न भाषामा उपलब्ध छ।
landing-feeds-heading = फिडहरू
landing-other-languages = अन्य भाषाहरू
landing-opml = सबै फिड OPML ढाँचामा
feed-format-rss = RSS 2.0
feed-format-atom = Atom 1.0
feed-format-json = JSON Feed 1.1
article-count = { $count ->
    [one] { $count } लेख
   *[other] { $count } वटा लेख
}
article-other-languages = अन्य भाषामा पढ्नुहोस्
article-published = प्रकाशित: { $date }
article-updated = अद्यावधिक: { $date }
article-fallback = यो लेख अहिलेसम्म तपाईंको भाषामा उपलब्ध छैन। यसलाई { $language } मा देखाइएको छ।
article-machine-translated = यो अनुवाद मेसिनद्वारा गरिएको हो।
article-correction = सच्याइ: { $note }
article-retracted = यो लेख फिर्ता लिइएको छ।
article-back = सबै लेखमा फर्कनुहोस्
topic-friendship-cities = मैत्री सहर
topic-science-technology = विज्ञान तथा प्रविधि
topic-new-energy = नयाँ ऊर्जा
topic-bio-medicine = जैव-चिकित्सा
topic-robotics = रोबोटिक्स
topic-education = शिक्षा
topic-urban-management = सहरी व्यवस्थापन
topic-olympics-2032 = ब्रिस्बेन २०३२
topic-youth-culture = युवा तथा संस्कृति
