## 電子郵件：新聞摘要與訂閱確認（src/email/render.rs）。
## 數字會傳兩次：$count 是原始數字，用於選擇複數形式；$number 是依當地習慣格式化後的數字。

email-digest-daily = 每日摘要
email-digest-weekly = 每週摘要
email-digest-instant = 新文章速遞
email-digest-subject = { $digest }：{ $number } 篇新文章
email-digest-intro = 截至 { $date }，共有 { $number } 篇新文章。
email-greeting = 您好！
email-greeting-name = { $name }，您好！
email-greeting-organisation = { $organisation }的各位朋友，大家好！
email-greeting-contact = { $organisation } { $name }，您好！
email-item-fallback = 目前尚無您所用語言的版本，現提供{ $language }版本。
email-item-corrected = 已更正
email-item-translations = 其他語言版本：
email-footer-why-subscriber = 您收到這封郵件，是因為您在 { $site } 訂閱了新聞摘要並確認了電子郵件地址。
email-footer-why-contact = 您收到這封郵件，是因為您是我們的合作機構{ $organisation }的聯絡人。
email-footer-preferences = 變更語言、主題或接收頻率
email-footer-unsubscribe = 取消訂閱
email-footer-site = 造訪我們的網站
email-confirm-subject = 請確認您對 { $site } 的訂閱
email-confirm-heading = 還差一步
email-confirm-intro = 有人（希望是您本人）申請透過電子郵件接收 { $site } 的新聞摘要。
email-confirm-nothing-yet = 在您確認之前，我們不會寄送任何郵件給您。
email-confirm-button = 確認訂閱
email-confirm-expiry = 此連結將在 { $number } 小時後失效。
email-confirm-ignore = 如果這不是您本人的操作，請忽略這封郵件：您不會被加入訂閱，也不會再收到我們的郵件。
email-confirm-link-fallback = 如果按鈕無法使用，請將以下網址複製到瀏覽器中開啟：

# The list name in List-Id and the mail client's list view.
email-list-name = 廣東外事新聞摘要
