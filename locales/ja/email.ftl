## メール：ダイジェストと購読確認（src/email/render.rs）。
## 数値は 2 回渡されます：$count は複数形の選択に使う元の数値、$number はロケールに合わせて整形済みの数値です。

email-digest-daily = デイリーダイジェスト
email-digest-weekly = ウィークリーダイジェスト
email-digest-instant = 新着のお知らせ
email-digest-subject = { $digest }：新着記事 { $number } 件
email-digest-intro = { $date } 時点の新着記事は { $number } 件です。
email-greeting = こんにちは。
email-greeting-name = { $name } 様
email-greeting-organisation = { $organisation } の皆様
email-greeting-contact = { $organisation } { $name } 様
email-item-fallback = ご利用の言語版はまだありません。{ $language }版をお届けします。
email-item-corrected = 訂正あり
email-item-translations = ほかの言語で読む：
email-footer-why-subscriber = このメールは、{ $site } でニュースダイジェストに登録し、メールアドレスを確認された方にお送りしています。
email-footer-why-contact = このメールは、提携団体である { $organisation } のご担当者様にお送りしています。
email-footer-preferences = 言語・トピック・配信頻度の変更
email-footer-unsubscribe = 配信停止
email-footer-site = ウェブサイトを見る
email-confirm-subject = { $site } の購読確認のお願い
email-confirm-heading = あと一歩で完了です
email-confirm-intro = どなたか（ご本人であれば幸いです）が、{ $site } のニュースダイジェストをメールで受け取るよう申し込まれました。
email-confirm-nothing-yet = 確認が済むまで、メールをお送りすることはありません。
email-confirm-button = 購読を確認する
email-confirm-expiry = このリンクの有効期限は { $number } 時間です。
email-confirm-ignore = お心当たりがない場合は、このメールを無視してください。購読が登録されることはなく、今後メールが届くこともありません。
email-confirm-link-fallback = ボタンが使えない場合は、次のアドレスをブラウザにコピーしてください：

# The list name in List-Id and the mail client's list view.
email-list-name = 広東省外事ダイジェスト
