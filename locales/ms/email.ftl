## E-mel: ringkasan berita dan pengesahan langganan (src/email/render.rs).
## Nombor dihantar dua kali: $count ialah nombor asal untuk memilih bentuk jamak,
## $number ialah nombor yang sama, sudah diformat mengikut bahasa.

email-digest-daily = Ringkasan harian
email-digest-weekly = Ringkasan mingguan
email-digest-instant = Baru diterbitkan
email-digest-subject = { $digest }: { $number } artikel baharu
email-digest-intro = Berikut { $number } artikel baharu (setakat { $date }).
email-greeting = Salam sejahtera,
email-greeting-name = Salam sejahtera { $name },
email-greeting-organisation = Salam sejahtera rakan-rakan di { $organisation },
email-greeting-contact = Salam sejahtera { $name } ({ $organisation }),
email-item-fallback = Belum diterjemahkan. Tersedia dalam { $language }.
email-item-corrected = Diperbetulkan
email-item-translations = Juga dalam:
email-footer-why-subscriber = Anda menerima e-mel ini kerana anda melanggan berita daripada { $site } dan telah mengesahkan alamat anda.
email-footer-why-contact = Anda menerima e-mel ini kerana anda ialah wakil hubungan { $organisation }, salah satu organisasi rakan kongsi kami.
email-footer-preferences = Tukar bahasa, topik atau kekerapan
email-footer-unsubscribe = Berhenti melanggan
email-footer-site = Lawati laman web kami
email-confirm-subject = Sila sahkan langganan anda kepada { $site }
email-confirm-heading = Tinggal satu langkah lagi
email-confirm-intro = Seseorang, harapnya anda sendiri, telah meminta untuk menerima ringkasan berita daripada { $site } melalui e-mel.
email-confirm-nothing-yet = Kami tidak akan menghantar apa-apa kepada anda sehingga anda mengesahkan alamat anda.
email-confirm-button = Sahkan langganan saya
email-confirm-expiry = Pautan ini akan tamat tempoh dalam { $number } jam.
email-confirm-ignore = Jika anda tidak membuat permintaan ini, abaikan sahaja e-mel ini: anda tidak akan dilanggankan dan tidak akan menerima apa-apa lagi daripada kami.
email-confirm-link-fallback = Jika butang tidak berfungsi, salin alamat ini ke dalam pelayar anda:

# The list name in List-Id and the mail client's list view.
email-list-name = Ringkasan Hal Ehwal Luar Guangdong
